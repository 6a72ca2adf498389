"""ctypes mirror of bpf/c/structs.h: the one Python definition of every struct the kernel shares.

Pure (ctypes is only used for layout). tests/bpf/test_bpf_structs.py checks each class against the
layout BCC compiles from the C, and against the header's text where BCC is not available.
"""

from __future__ import annotations

import ctypes
import ipaddress

__all__ = [
    "MAX_REALS_DEFAULT",
    "NO_REAL",
    "REAL_F_PRESENT",
    "VIP_F_L2",
    "ConnVal",
    "FlowKey",
    "LbConfig",
    "LbStats",
    "RealDef",
    "VipKey",
    "VipMeta",
    "addr_words",
    "family_of",
    "ip_to_net_u32",
    "port_to_net_u16",
]

NO_REAL = 0xFFFFFFFF
VIP_F_L2 = 1
REAL_F_PRESENT = 1
MAX_REALS_DEFAULT = 1024


def ip_to_net_u32(address: str | ipaddress.IPv4Address) -> int:
    """The integer whose little-endian bytes are the address in network order (how C stores __be32)."""
    return int.from_bytes(ipaddress.IPv4Address(address).packed, "little")


def net_u32_to_ip(value: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(value.to_bytes(4, "little"))


def addr_words(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[int, int, int, int]:
    """The 16-byte address field (__u32[4]) of either family: IPv4 in the first word, zeros after."""
    packed = ipaddress.ip_address(address).packed.ljust(16, b"\0")
    return tuple(int.from_bytes(packed[i : i + 4], "little") for i in range(0, 16, 4))  # type: ignore[return-value]


def family_of(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    return ipaddress.ip_address(address).version


def port_to_net_u16(port: int) -> int:
    return int.from_bytes(port.to_bytes(2, "big"), "little")


_Addr = ctypes.c_uint32 * 4


class VipKey(ctypes.Structure):
    _fields_ = [
        ("addr", _Addr),
        ("port", ctypes.c_uint16),
        ("proto", ctypes.c_uint8),
        ("family", ctypes.c_uint8),
    ]


class VipMeta(ctypes.Structure):
    _fields_ = [("vip_num", ctypes.c_uint32), ("ring_size", ctypes.c_uint32), ("flags", ctypes.c_uint32)]


class RealDef(ctypes.Structure):
    _fields_ = [
        ("addr", _Addr),
        ("mac", ctypes.c_uint8 * 6),
        ("flags", ctypes.c_uint8),
        ("family", ctypes.c_uint8),
    ]


class FlowKey(ctypes.Structure):
    _fields_ = [
        ("src", _Addr),
        ("dst", _Addr),
        ("sport", ctypes.c_uint16),
        ("dport", ctypes.c_uint16),
        ("proto", ctypes.c_uint8),
        ("family", ctypes.c_uint8),
        ("pad", ctypes.c_uint8 * 2),
    ]


class ConnVal(ctypes.Structure):
    _fields_ = [("real", ctypes.c_uint32), ("vip_num", ctypes.c_uint32)]


class LbStats(ctypes.Structure):
    _fields_ = [("packets", ctypes.c_uint64), ("bytes", ctypes.c_uint64)]


class LbConfig(ctypes.Structure):
    _fields_ = [("encap_src", ctypes.c_uint32), ("encap_src6", _Addr), ("flags", ctypes.c_uint32)]


# C struct name -> mirror, for the mirror test
MIRRORS: dict[str, type[ctypes.Structure]] = {
    "vip_key": VipKey,
    "vip_meta": VipMeta,
    "real_def": RealDef,
    "flow_key": FlowKey,
    "conn_val": ConnVal,
    "lb_stats": LbStats,
    "lb_config": LbConfig,
}
