"""The packet fixture table: input frame, expected verdict, expected output frame.

Run against the reference model (bpf/model.py) everywhere and against the kernel program through
BPF_PROG_TEST_RUN (tests/bpf/test_bpf_fixtures.py). Expected outputs are written from the spec of
the forwarder (outer header fields, MACs), not computed by the model.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from bpf.packets import (
    ETH_P_ARP,
    ETH_P_IP,
    ETH_P_IPV6,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_IPIP,
    IPPROTO_IPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    ethernet,
    ipv4,
    ipv6,
    mac_bytes,
    tcp,
    udp,
)
from bpf.plan import Limits, Tables, plan_tables
from gslb.policy.l4 import VipSpec

XDP_DROP, XDP_PASS, XDP_TX = 1, 2, 3

OUR_MAC = "02:00:00:00:00:02"  # the forwarder's interface
CLIENT_MAC = "02:00:00:00:00:01"
ENCAP_SRC = "10.0.0.2"
ENCAP_SRC6 = "2001:db8::2"
CLIENT = "192.0.2.10"
CLIENT6 = "2001:db8:c::10"
REAL_MACS = {
    "10.0.0.11": mac_bytes("02:00:00:00:00:11"),
    "10.0.0.12": mac_bytes("02:00:00:00:00:12"),
    "10.0.0.13": mac_bytes("02:00:00:00:00:13"),
    "10.0.0.14": mac_bytes("02:00:00:00:00:14"),
    "10.0.0.15": mac_bytes("02:00:00:00:00:15"),
    "2001:db8::21": mac_bytes("02:00:00:00:00:21"),
    "2001:db8::22": mac_bytes("02:00:00:00:00:22"),
    "2001:db8::23": mac_bytes("02:00:00:00:00:23"),
}
LIMITS = Limits(max_vips=16, max_reals=32, ring_max=4099)


def _vip(
    name: str, address: str, port: int, protocol: str, reals: list[tuple[str, int]], **extra: object
) -> VipSpec:
    return VipSpec.model_validate(
        {
            "tenant": "t",
            "name": name,
            "address": address,
            "port": port,
            "protocol": protocol,
            "reals": [{"address": a, "weight": w} for a, w in reals],
            "maglev_table_size": 251,
            **extra,
        }
    )


SPECS = [
    _vip("web", "10.100.0.1", 80, "tcp", [("10.0.0.11", 100)]),
    _vip("dns", "10.100.0.2", 53, "udp", [("10.0.0.12", 100)], forwarding="l2"),
    _vip("any", "10.100.0.3", 0, "tcp", [("10.0.0.13", 100)]),
    _vip("drained", "10.100.0.4", 80, "tcp", [("10.0.0.14", 0)]),
    _vip("v4to6", "10.100.0.5", 80, "tcp", [("2001:db8::22", 100)]),
    _vip("web6", "2001:db8:100::1", 80, "tcp", [("2001:db8::21", 100)]),
    _vip("v6to4", "2001:db8:100::2", 80, "udp", [("10.0.0.15", 100)]),
    _vip("dns6", "2001:db8:100::3", 53, "udp", [("2001:db8::23", 100)], forwarding="l2"),
]


def fixture_tables() -> Tables:
    return plan_tables(SPECS, {}, REAL_MACS, encap_src=ENCAP_SRC, encap_src6=ENCAP_SRC6, limits=LIMITS)


@dataclass(frozen=True)
class Fixture:
    name: str
    frame: bytes
    verdict: int
    output: bytes | None = None  # None: the frame must come out untouched


def _eth(ethertype: int = ETH_P_IP) -> bytes:
    return ethernet(OUR_MAC, CLIENT_MAC, ethertype)


def _tcp_packet(dst: str, dport: int, sport: int = 40000, **ip: object) -> bytes:
    return ipv4(CLIENT, dst, IPPROTO_TCP, tcp(CLIENT, dst, sport, dport, b"hello"), **ip)  # type: ignore[arg-type]


def _udp_packet(dst: str, dport: int, sport: int = 40000, payload: bytes = b"query") -> bytes:
    return ipv4(CLIENT, dst, IPPROTO_UDP, udp(CLIENT, dst, sport, dport, payload))


def _ipip(real: str, inner: bytes, *, tos: int = 0) -> bytes:
    """What the forwarder must emit for IP-in-IP: the spec of the outer header, field by field."""
    outer = ipv4(ENCAP_SRC, real, IPPROTO_IPIP, inner, ttl=64, tos=tos, ident=0, flags_frag=0)
    return REAL_MACS[real] + mac_bytes(OUR_MAC) + struct.pack("!H", ETH_P_IP) + outer


def _tcp6(dst: str, dport: int, sport: int = 40000, **ip: object) -> bytes:
    segment = tcp(CLIENT6, dst, sport, dport, b"hello")
    return ipv6(CLIENT6, dst, IPPROTO_TCP, segment, **ip)  # type: ignore[arg-type]


def _tunnel(real: str, inner: bytes, *, inner_family: int, tos: int = 0) -> bytes:
    """What the forwarder must emit for a tunnel whose outer family is the real's."""
    next_header = IPPROTO_IPIP if inner_family == 4 else IPPROTO_IPV6
    if ":" in real:
        outer = ipv6(ENCAP_SRC6, real, next_header, inner, hop_limit=64, traffic_class=tos)
        return REAL_MACS[real] + mac_bytes(OUR_MAC) + struct.pack("!H", ETH_P_IPV6) + outer
    outer = ipv4(ENCAP_SRC, real, next_header, inner, ttl=64, tos=tos, ident=0, flags_frag=0)
    return REAL_MACS[real] + mac_bytes(OUR_MAC) + struct.pack("!H", ETH_P_IP) + outer


def _with(packet: bytes, offset: int, value: bytes) -> bytes:
    return packet[:offset] + value + packet[offset + len(value) :]


def build_fixtures() -> list[Fixture]:
    web = _tcp_packet("10.100.0.1", 80)
    web_tos = _tcp_packet("10.100.0.1", 80, tos=0x28)
    dns = _udp_packet("10.100.0.2", 53)
    any_port = _tcp_packet("10.100.0.3", 8443)
    options = ipv4(
        CLIENT, "10.100.0.1", IPPROTO_TCP, tcp(CLIENT, "10.100.0.1", 40001, 80), options=b"\x01\x01\x01\x00"
    )
    short_udp = _udp_packet("10.100.0.2", 53, payload=b"")  # 28 bytes of IP: the frame gets padded
    short_tcp_web = _udp_packet("10.100.0.1", 80)
    fixtures = [
        Fixture(
            "tcp to an ipip VIP is encapsulated to its real", _eth() + web, XDP_TX, _ipip("10.0.0.11", web)
        ),
        Fixture(
            "the outer header copies the inner TOS",
            _eth() + web_tos,
            XDP_TX,
            _ipip("10.0.0.11", web_tos, tos=0x28),
        ),
        Fixture(
            "udp to an l2 VIP gets the real's MAC, our MAC as source",
            _eth() + dns,
            XDP_TX,
            REAL_MACS["10.0.0.12"] + mac_bytes(OUR_MAC) + struct.pack("!H", ETH_P_IP) + dns,
        ),
        Fixture("a port-0 VIP takes every port", _eth() + any_port, XDP_TX, _ipip("10.0.0.13", any_port)),
        Fixture(
            "IP options are carried inside the tunnel", _eth() + options, XDP_TX, _ipip("10.0.0.11", options)
        ),
        Fixture(
            "Ethernet padding after a short packet is kept, outside the inner length",
            _eth() + short_udp + bytes(18),
            XDP_TX,
            REAL_MACS["10.0.0.12"] + mac_bytes(OUR_MAC) + struct.pack("!H", ETH_P_IP) + short_udp + bytes(18),
        ),
        Fixture(
            "a VIP whose reals all weigh 0 drops new flows", _eth() + _tcp_packet("10.100.0.4", 80), XDP_DROP
        ),
        Fixture("another port of a VIP address passes", _eth() + _tcp_packet("10.100.0.1", 443), XDP_PASS),
        Fixture("another protocol on a VIP port passes", _eth() + short_tcp_web, XDP_PASS),
        Fixture(
            "ICMP to a VIP address passes",
            _eth() + ipv4(CLIENT, "10.100.0.1", IPPROTO_ICMP, b"\x08\0" + bytes(6)),
            XDP_PASS,
        ),
        Fixture("traffic to other addresses passes", _eth() + _tcp_packet("10.100.9.9", 80), XDP_PASS),
        Fixture("IPv6 to the unspecified address passes", _eth(ETH_P_IPV6) + bytes(60), XDP_PASS),
        Fixture("ARP passes", _eth(ETH_P_ARP) + bytes(28), XDP_PASS),
        Fixture("a bare Ethernet header passes", _eth(), XDP_PASS),
        Fixture(
            "an IPv4 header cut short passes (its destination is unreadable)", _eth() + web[:19], XDP_PASS
        ),
        Fixture("IHL 4 to a VIP drops", _eth() + _with(web, 0, b"\x44"), XDP_DROP),
        Fixture("IHL 0 to a VIP drops", _eth() + _with(web, 0, b"\x40"), XDP_DROP),
        Fixture("IHL 15 past the packet to a VIP drops", _eth() + _with(web, 0, b"\x4f"), XDP_DROP),
        Fixture("version 6 in an IPv4 frame to a VIP drops", _eth() + _with(web, 0, b"\x65"), XDP_DROP),
        Fixture(
            "total length beyond the frame drops",
            _eth() + _with(web, 2, struct.pack("!H", len(web) + 1)),
            XDP_DROP,
        ),
        Fixture(
            "total length below the header drops", _eth() + _with(web, 2, struct.pack("!H", 19)), XDP_DROP
        ),
        Fixture(
            "a first fragment (MF) to a VIP drops",
            _eth() + _tcp_packet("10.100.0.1", 80, flags_frag=0x2000),
            XDP_DROP,
        ),
        Fixture(
            "a later fragment to a VIP drops", _eth() + _with(web, 6, struct.pack("!H", 0x0010)), XDP_DROP
        ),
        Fixture(
            "a TCP header cut short to a VIP drops",
            _eth() + ipv4(CLIENT, "10.100.0.1", IPPROTO_TCP, tcp(CLIENT, "10.100.0.1", 40000, 80)[:12]),
            XDP_DROP,
        ),
        Fixture(
            "a UDP header cut short to a VIP drops",
            _eth() + ipv4(CLIENT, "10.100.0.2", IPPROTO_UDP, udp(CLIENT, "10.100.0.2", 40000, 53)[:6]),
            XDP_DROP,
        ),
        Fixture("a frame cut inside the TCP header drops", _eth() + web[:22], XDP_DROP),
    ]
    return fixtures + _ipv6_fixtures()


def _ipv6_fixtures() -> list[Fixture]:
    web6 = _tcp6("2001:db8:100::1", 80)
    web6_tc = _tcp6("2001:db8:100::1", 80, traffic_class=0x28)
    v6to4 = ipv6(CLIENT6, "2001:db8:100::2", IPPROTO_UDP, udp(CLIENT6, "2001:db8:100::2", 40000, 80, b"q"))
    v4to6 = _tcp_packet("10.100.0.5", 80)
    dns6 = ipv6(CLIENT6, "2001:db8:100::3", IPPROTO_UDP, udp(CLIENT6, "2001:db8:100::3", 40000, 53, b"q"))
    eth6 = _eth(ETH_P_IPV6)
    return [
        Fixture(
            "tcp to an IPv6 VIP is tunnelled 6in6",
            eth6 + web6,
            XDP_TX,
            _tunnel("2001:db8::21", web6, inner_family=6),
        ),
        Fixture(
            "the outer IPv6 header copies the traffic class",
            eth6 + web6_tc,
            XDP_TX,
            _tunnel("2001:db8::21", web6_tc, inner_family=6, tos=0x28),
        ),
        Fixture(
            "an IPv6 VIP with an IPv4 real is tunnelled 6in4",
            eth6 + v6to4,
            XDP_TX,
            _tunnel("10.0.0.15", v6to4, inner_family=6),
        ),
        Fixture(
            "an IPv4 VIP with an IPv6 real is tunnelled 4in6",
            _eth() + v4to6,
            XDP_TX,
            _tunnel("2001:db8::22", v4to6, inner_family=4),
        ),
        Fixture(
            "udp to an l2 IPv6 VIP gets the real's MAC",
            eth6 + dns6,
            XDP_TX,
            REAL_MACS["2001:db8::23"] + mac_bytes(OUR_MAC) + struct.pack("!H", ETH_P_IPV6) + dns6,
        ),
        Fixture("IPv6 to other addresses passes", eth6 + _tcp6("2001:db8:100::99", 80), XDP_PASS),
        Fixture("another port of an IPv6 VIP passes", eth6 + _tcp6("2001:db8:100::1", 443), XDP_PASS),
        Fixture(
            "ICMPv6 to an IPv6 VIP address passes",
            eth6 + ipv6(CLIENT6, "2001:db8:100::1", IPPROTO_ICMPV6, b"\x80\0" + bytes(6)),
            XDP_PASS,
        ),
        Fixture(
            "an extension header (hop-by-hop) before TCP passes",
            eth6 + ipv6(CLIENT6, "2001:db8:100::1", 0, bytes([IPPROTO_TCP]) + bytes(7) + web6[40:]),
            XDP_PASS,
        ),
        Fixture(
            "an IPv6 fragment to a VIP drops",
            eth6 + ipv6(CLIENT6, "2001:db8:100::1", 44, bytes([IPPROTO_TCP]) + bytes(7) + web6[40:]),
            XDP_DROP,
        ),
        Fixture("an IPv6 header cut short passes", eth6 + web6[:30], XDP_PASS),
        Fixture("version 4 in an IPv6 frame to a VIP drops", eth6 + _with(web6, 0, b"\x40"), XDP_DROP),
        Fixture(
            "IPv6 payload length beyond the frame drops",
            eth6 + _with(web6, 4, struct.pack("!H", len(web6) - 40 + 1)),
            XDP_DROP,
        ),
        Fixture(
            "a TCP header cut short to an IPv6 VIP drops",
            eth6 + ipv6(CLIENT6, "2001:db8:100::1", IPPROTO_TCP, web6[40:50]),
            XDP_DROP,
        ),
    ]


FIXTURES = build_fixtures()
