"""Reference model of bpf/c/forwarder.c in plain Python: the same verdicts and bytes, for fixtures.

Pure. The fixtures in tests/bpf run against this model everywhere and against the kernel program
through BPF_PROG_TEST_RUN where BPF is available; the two must agree byte for byte.
"""

from __future__ import annotations

import ipaddress
import struct
from collections import OrderedDict
from dataclasses import dataclass, field

from bpf.packets import ETH_P_IP, ETH_P_IPV6, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_TCP, IPPROTO_UDP, checksum
from bpf.plan import Tables, VipEntry
from bpf.structs import NO_REAL, VIP_F_L2

XDP_DROP, XDP_PASS, XDP_TX = 1, 2, 3
HASH_SEED = 0x9747B28C
OUTER_TTL = 64
NEXTHDR_FRAGMENT = 44
_MASK = 0xFFFFFFFF


def mix32(value: int) -> int:
    value ^= value >> 16
    value = (value * 0x85EBCA6B) & _MASK
    value ^= value >> 13
    value = (value * 0xC2B2AE35) & _MASK
    value ^= value >> 16
    return value


def flow_hash(src: int, dst: int, sport: int, dport: int, proto: int) -> int:
    value = HASH_SEED
    value = mix32(value ^ src)
    value = mix32(value ^ dst)
    value = mix32(value ^ ((sport << 16) | dport))
    return mix32(value ^ proto)


def fold(address: bytes) -> int:
    """An address folded to 32 bits: IPv4 itself, IPv6 the XOR of its four words (as the C does)."""
    value = 0
    for i in range(0, len(address), 4):
        value ^= int.from_bytes(address[i : i + 4], "big")
    return value


@dataclass
class Counters:
    packets: int = 0
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class _Packet:
    src: bytes
    dst: bytes
    sport: int
    dport: int
    proto: int
    family: int
    l3_len: int
    tos: int


def _l4_min(proto: int) -> int:
    return {IPPROTO_TCP: 20, IPPROTO_UDP: 8}.get(proto, 0)


@dataclass
class ForwarderModel:
    tables: Tables
    conn_max: int = 65536
    conns: OrderedDict[tuple[bytes, bytes, int, int, int], int] = field(default_factory=OrderedDict)
    vip_stats: dict[int, Counters] = field(default_factory=dict)
    real_stats: dict[int, Counters] = field(default_factory=dict)

    def _is_vip_address(self, address: bytes) -> bool:
        return any(ipaddress.ip_address(vip).packed == address for vip, _, _ in self.tables.vips)

    def _find_vip(self, daddr: bytes, dport: int, proto: int) -> VipEntry | None:
        address = str(ipaddress.ip_address(daddr))
        return self.tables.vips.get((address, dport, proto)) or self.tables.vips.get((address, 0, proto))

    def _parse_ipv4(self, frame: bytes) -> _Packet | int:
        ip = 14
        if len(frame) < ip + 20:
            return XDP_PASS
        daddr = frame[ip + 16 : ip + 20]
        if not self._is_vip_address(daddr):
            return XDP_PASS
        version, ihl = frame[ip] >> 4, frame[ip] & 0xF
        if version != 4 or ihl < 5:
            return XDP_DROP
        ihl_bytes = ihl * 4
        tot_len = struct.unpack_from("!H", frame, ip + 2)[0]
        if tot_len < ihl_bytes or ip + tot_len > len(frame):
            return XDP_DROP
        if struct.unpack_from("!H", frame, ip + 6)[0] & 0x3FFF:
            return XDP_DROP
        proto = frame[ip + 9]
        l4_min = _l4_min(proto)
        if not l4_min:
            return XDP_PASS
        if ihl_bytes + l4_min > tot_len:
            return XDP_DROP
        l4 = ip + ihl_bytes
        if l4 + 4 > len(frame):
            return XDP_DROP
        sport, dport = struct.unpack_from("!HH", frame, l4)
        return _Packet(frame[ip + 12 : ip + 16], daddr, sport, dport, proto, 4, tot_len, frame[ip + 1])

    def _parse_ipv6(self, frame: bytes) -> _Packet | int:
        ip = 14
        if len(frame) < ip + 40:
            return XDP_PASS
        daddr = frame[ip + 24 : ip + 40]
        if not self._is_vip_address(daddr):
            return XDP_PASS
        if frame[ip] >> 4 != 6:
            return XDP_DROP
        payload = struct.unpack_from("!H", frame, ip + 4)[0]
        if ip + 40 + payload > len(frame):
            return XDP_DROP
        nexthdr = frame[ip + 6]
        if nexthdr == NEXTHDR_FRAGMENT:
            return XDP_DROP
        l4_min = _l4_min(nexthdr)
        if not l4_min:
            return XDP_PASS
        if l4_min > payload:
            return XDP_DROP
        sport, dport = struct.unpack_from("!HH", frame, ip + 40)
        tos = ((frame[ip] & 0xF) << 4) | (frame[ip + 1] >> 4)
        return _Packet(frame[ip + 8 : ip + 24], daddr, sport, dport, nexthdr, 6, 40 + payload, tos)

    def process(self, frame: bytes) -> tuple[int, bytes]:
        """(verdict, frame after the program) for one received frame."""
        if len(frame) < 14:
            return XDP_PASS, frame
        ethertype = struct.unpack_from("!H", frame, 12)[0]
        if ethertype == ETH_P_IP:
            parsed = self._parse_ipv4(frame)
        elif ethertype == ETH_P_IPV6:
            parsed = self._parse_ipv6(frame)
        else:
            return XDP_PASS, frame
        if isinstance(parsed, int):
            return parsed, frame
        packet = parsed
        vip = self._find_vip(packet.dst, packet.dport, packet.proto)
        if vip is None:
            return XDP_PASS, frame
        flow = (packet.src, packet.dst, packet.sport, packet.dport, packet.proto)
        real_index = self.conns.get(flow)
        if real_index is not None and real_index not in self.tables.reals:
            real_index = None  # the real is gone: re-pick
        if real_index is not None:
            self.conns.move_to_end(flow)
        else:
            if vip.ring_size == 0:
                return XDP_DROP, frame
            hashed = flow_hash(fold(packet.src), fold(packet.dst), packet.sport, packet.dport, packet.proto)
            picked = vip.ring[hashed % vip.ring_size]
            if picked == NO_REAL or picked not in self.tables.reals:
                return XDP_DROP, frame
            real_index = picked
            self.conns[flow] = real_index
            while len(self.conns) > self.conn_max:
                self.conns.popitem(last=False)
        for stats, key in ((self.vip_stats, vip.vip_num), (self.real_stats, real_index)):
            counters = stats.setdefault(key, Counters())
            counters.packets += 1
            counters.bytes += len(frame)
        real = self.tables.reals[real_index]
        our_mac = frame[0:6]
        if vip.flags & VIP_F_L2:
            return XDP_TX, real.mac + our_mac + frame[12:]
        inner_proto = IPPROTO_IPIP if packet.family == 4 else IPPROTO_IPV6
        target = ipaddress.ip_address(real.address)
        if target.version == 4:
            outer = struct.pack(
                "!BBHHHBBH4s4s",
                0x45,
                packet.tos,
                packet.l3_len + 20,
                0,
                0,
                OUTER_TTL,
                inner_proto,
                0,
                ipaddress.IPv4Address(self.tables.encap_src).packed,
                target.packed,
            )
            outer = outer[:10] + struct.pack("!H", checksum(outer)) + outer[12:]
            return XDP_TX, real.mac + our_mac + struct.pack("!H", ETH_P_IP) + outer + frame[14:]
        first_word = (6 << 28) | (packet.tos << 20)
        outer = struct.pack("!IHBB", first_word, packet.l3_len, inner_proto, OUTER_TTL)
        outer += ipaddress.IPv6Address(self.tables.encap_src6).packed + target.packed
        return XDP_TX, real.mac + our_mac + struct.pack("!H", ETH_P_IPV6) + outer + frame[14:]
