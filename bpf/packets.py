"""Build and read Ethernet/IPv4/TCP/UDP frames: for fixtures, the reference model and benchmarks.

Pure. Builders take every field that matters to the forwarder explicitly so that fixtures can make
malformed frames (bad IHL, wrong lengths, fragments) on purpose.
"""

from __future__ import annotations

import ipaddress
import struct

ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ETH_P_ARP = 0x0806
IPPROTO_ICMP = 1
IPPROTO_IPIP = 4
IPPROTO_IPV6 = 41  # IPv6 inside a tunnel
IPPROTO_ICMPV6 = 58
NEXTHDR_FRAGMENT = 44
IPPROTO_TCP = 6
IPPROTO_UDP = 17
PROTOCOLS = {"tcp": IPPROTO_TCP, "udp": IPPROTO_UDP}


def mac_bytes(mac: str) -> bytes:
    """'02:00:00:00:00:01' -> 6 bytes; ValueError saying what is wrong otherwise."""
    parts = mac.split(":")
    if len(parts) != 6 or not all(len(part) == 2 for part in parts):
        raise ValueError(f"{mac!r} is not a MAC address like 02:00:00:00:00:01")
    return bytes(int(part, 16) for part in parts)


def mac_text(mac: bytes) -> str:
    return ":".join(f"{byte:02x}" for byte in mac)


def ethernet(dst: str, src: str, ethertype: int = ETH_P_IP) -> bytes:
    return mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", ethertype)


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(
    src: str,
    dst: str,
    proto: int,
    payload: bytes,
    *,
    ttl: int = 64,
    tos: int = 0,
    ident: int = 1,
    flags_frag: int = 0x4000,  # DF, offset 0
    options: bytes = b"",
    ihl: int | None = None,
    total_length: int | None = None,
    version: int = 4,
) -> bytes:
    """An IPv4 packet. ihl/total_length/version override the computed fields (malformed fixtures)."""
    if len(options) % 4:
        raise ValueError("IPv4 options must be a multiple of 4 bytes")
    header_len = 20 + len(options)
    ihl_field = header_len // 4 if ihl is None else ihl
    total = header_len + len(payload) if total_length is None else total_length
    header = struct.pack(
        "!BBHHHBBH4s4s",
        (version << 4) | (ihl_field & 0xF),
        tos,
        total,
        ident,
        flags_frag,
        ttl,
        proto,
        0,
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
    )
    header += options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def ipv6(
    src: str,
    dst: str,
    nexthdr: int,
    payload: bytes,
    *,
    hop_limit: int = 64,
    traffic_class: int = 0,
    payload_length: int | None = None,
    version: int = 6,
) -> bytes:
    """An IPv6 packet; payload_length/version override the computed fields (malformed fixtures)."""
    length = len(payload) if payload_length is None else payload_length
    first_word = (version << 28) | (traffic_class << 20)
    header = struct.pack("!IHBB", first_word, length, nexthdr, hop_limit)
    return header + ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    source, destination = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if source.version == 6:
        return source.packed + destination.packed + struct.pack("!I3xB", length, proto)
    return source.packed + destination.packed + struct.pack("!BBH", 0, proto, length)


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"") -> bytes:
    length = 8 + len(payload)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    csum = checksum(_pseudo(src, dst, IPPROTO_UDP, length) + header + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, csum) + payload


def tcp(
    src: str, dst: str, sport: int, dport: int, payload: bytes = b"", *, flags: int = 0x02, seq: int = 1
) -> bytes:
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    csum = checksum(_pseudo(src, dst, IPPROTO_TCP, len(header) + len(payload)) + header + payload)
    return header[:16] + struct.pack("!H", csum) + header[18:] + payload


def l4_segment(proto: str, src: str, dst: str, sport: int, dport: int, payload: bytes = b"") -> bytes:
    if proto == "tcp":
        return tcp(src, dst, sport, dport, payload)
    if proto == "udp":
        return udp(src, dst, sport, dport, payload)
    raise ValueError(f"protocol {proto!r}: use tcp or udp")


def flow_frame(
    *,
    eth_dst: str,
    eth_src: str,
    src: str,
    dst: str,
    proto: str,
    sport: int,
    dport: int,
    payload: bytes = b"",
) -> bytes:
    """A well-formed frame of one flow."""
    segment = l4_segment(proto, src, dst, sport, dport, payload)
    if ipaddress.ip_address(src).version == 6:
        return ethernet(eth_dst, eth_src, ETH_P_IPV6) + ipv6(src, dst, PROTOCOLS[proto], segment)
    return ethernet(eth_dst, eth_src) + ipv4(src, dst, PROTOCOLS[proto], segment)
