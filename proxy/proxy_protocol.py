"""PROXY protocol version 2 header (HAProxy's spec, section 2.2): who the client really was (pure)."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address, ip_address

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
_PROXY = 0x21  # version 2, command PROXY
_LOCAL = 0x20  # version 2, command LOCAL (no addresses: health checks, unknown families)
_TCP4 = 0x11
_TCP6 = 0x21


def proxy_v2_header(source: tuple[str, int] | None, destination: tuple[str, int] | None) -> bytes:
    """The header for a TCP connection from `source` to `destination` (address, port).

    Without both addresses, or with mixed families, a LOCAL header (no address block): receivers
    then use the connection's own addresses, as the spec asks.
    """
    if source is None or destination is None:
        return SIGNATURE + struct.pack("!BBH", _LOCAL, 0, 0)
    src, dst = ip_address(source[0].split("%")[0]), ip_address(destination[0].split("%")[0])
    if isinstance(src, IPv4Address) and isinstance(dst, IPv4Address):
        block = src.packed + dst.packed + struct.pack("!HH", source[1], destination[1])
        return SIGNATURE + struct.pack("!BBH", _PROXY, _TCP4, len(block)) + block
    if isinstance(src, IPv6Address) and isinstance(dst, IPv6Address):
        block = src.packed + dst.packed + struct.pack("!HH", source[1], destination[1])
        return SIGNATURE + struct.pack("!BBH", _PROXY, _TCP6, len(block)) + block
    return SIGNATURE + struct.pack("!BBH", _LOCAL, 0, 0)


def parse_proxy_v2(data: bytes) -> tuple[tuple[str, int] | None, tuple[str, int] | None, int]:
    """(source, destination, header length) of a v2 header at the start of `data`; ValueError if
    there is none. For tests and for upstreams written in Python."""
    if len(data) < 16 or not data.startswith(SIGNATURE):
        raise ValueError("no PROXY v2 signature")
    version_command, family, length = struct.unpack("!BBH", data[12:16])
    if version_command >> 4 != 2:
        raise ValueError(f"PROXY protocol version {version_command >> 4}, not 2")
    total = 16 + length
    if len(data) < total:
        raise ValueError("truncated PROXY v2 header")
    if version_command & 0x0F == 0 or family not in (_TCP4, _TCP6):
        return None, None, total
    size = 4 if family == _TCP4 else 16
    block = data[16:total]
    src = str(ip_address(block[:size]))
    dst = str(ip_address(block[size : 2 * size]))
    sport, dport = struct.unpack("!HH", block[2 * size : 2 * size + 4])
    return (src, sport), (dst, dport), total
