"""What every probe shares: the failure verdict and address resolution."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket


class ProbeFailed(Exception):
    """A probe's verdict: the target answered wrongly (or not at all); the message says how."""


@functools.lru_cache(maxsize=65536)
def _numeric(host: str) -> tuple[int, str] | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return (socket.AF_INET6 if address.version == 6 else socket.AF_INET), str(address)


async def resolve(host: str, port: int, *, udp: bool = False) -> tuple[int, str]:
    """(family, address) of a probe host; an address passes through without a lookup (cached)."""
    numeric = _numeric(host)
    if numeric is not None:
        return numeric
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    try:
        info = await asyncio.get_running_loop().getaddrinfo(host, port, type=kind)
    except socket.gaierror as exc:
        raise ProbeFailed(f"cannot resolve {host}: {exc.strerror}") from None
    family, _type, _proto, _name, sockaddr = info[0]
    return int(family), str(sockaddr[0])
