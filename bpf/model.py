"""Reference model of bpf/c/forwarder.c in plain Python: the same verdicts and bytes, for fixtures.

Pure. The fixtures in tests/bpf run against this model everywhere and against the kernel program
through BPF_PROG_TEST_RUN where BPF is available; the two must agree byte for byte.
"""

from __future__ import annotations

import ipaddress
import struct
from collections import OrderedDict
from dataclasses import dataclass, field

from bpf.packets import ETH_P_IP, IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_UDP, checksum
from bpf.plan import Tables, VipEntry
from bpf.structs import NO_REAL, VIP_F_L2

XDP_DROP, XDP_PASS, XDP_TX = 1, 2, 3
HASH_SEED = 0x9747B28C
OUTER_TTL = 64
_MASK = 0xFFFFFFFF

FlowTuple = tuple[int, int, int, int, int]  # src, dst, sport, dport, proto (host order)


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


@dataclass
class Counters:
    packets: int = 0
    bytes: int = 0


@dataclass
class ForwarderModel:
    tables: Tables
    conn_max: int = 65536
    conns: OrderedDict[FlowTuple, int] = field(default_factory=OrderedDict)
    vip_stats: dict[int, Counters] = field(default_factory=dict)
    real_stats: dict[int, Counters] = field(default_factory=dict)

    def _vip_addresses(self) -> set[int]:
        return {int(ipaddress.IPv4Address(address)) for address, _, _ in self.tables.vips}

    def _find_vip(self, daddr: int, dport: int, proto: int) -> VipEntry | None:
        address = str(ipaddress.IPv4Address(daddr))
        return self.tables.vips.get((address, dport, proto)) or self.tables.vips.get((address, 0, proto))

    def process(self, frame: bytes) -> tuple[int, bytes]:
        """(verdict, frame after the program) for one received frame."""
        if len(frame) < 14 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IP:
            return XDP_PASS, frame
        if len(frame) < 34:
            return XDP_PASS, frame
        ip = 14
        daddr = struct.unpack_from("!I", frame, ip + 16)[0]
        if daddr not in self._vip_addresses():
            return XDP_PASS, frame
        version, ihl = frame[ip] >> 4, frame[ip] & 0xF
        if version != 4 or ihl < 5:
            return XDP_DROP, frame
        ihl_bytes = ihl * 4
        tot_len = struct.unpack_from("!H", frame, ip + 2)[0]
        if tot_len < ihl_bytes or ip + tot_len > len(frame):
            return XDP_DROP, frame
        if struct.unpack_from("!H", frame, ip + 6)[0] & 0x3FFF:
            return XDP_DROP, frame
        proto = frame[ip + 9]
        if proto == IPPROTO_TCP:
            l4_min = 20
        elif proto == IPPROTO_UDP:
            l4_min = 8
        else:
            return XDP_PASS, frame
        if ihl_bytes + l4_min > tot_len:
            return XDP_DROP, frame
        l4 = ip + ihl_bytes
        if l4 + 4 > len(frame):
            return XDP_DROP, frame
        sport, dport = struct.unpack_from("!HH", frame, l4)
        vip = self._find_vip(daddr, dport, proto)
        if vip is None:
            return XDP_PASS, frame
        saddr = struct.unpack_from("!I", frame, ip + 12)[0]
        flow = (saddr, daddr, sport, dport, proto)
        real_index = self.conns.get(flow)
        if real_index is not None and real_index not in self.tables.reals:
            real_index = None  # the real is gone: re-pick
        if real_index is not None:
            self.conns.move_to_end(flow)
        else:
            if vip.ring_size == 0:
                return XDP_DROP, frame
            picked = vip.ring[flow_hash(*flow) % vip.ring_size]
            if picked == NO_REAL or picked not in self.tables.reals:
                return XDP_DROP, frame
            real_index = picked
            self.conns[flow] = real_index
            self.conns.move_to_end(flow)
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
        outer = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            frame[ip + 1],
            tot_len + 20,
            0,
            0,
            OUTER_TTL,
            IPPROTO_IPIP,
            0,
            ipaddress.IPv4Address(self.tables.encap_src).packed,
            ipaddress.IPv4Address(real.address).packed,
        )
        outer = outer[:10] + struct.pack("!H", checksum(outer)) + outer[12:]
        return XDP_TX, real.mac + our_mac + struct.pack("!H", ETH_P_IP) + outer + frame[ip:]
