"""What every probe shares: the failure verdict and address resolution."""

from __future__ import annotations

import asyncio
import socket


class ProbeFailed(Exception):
    """A probe's verdict: the target answered wrongly (or not at all); the message says how."""


async def resolve(host: str, port: int, *, udp: bool = False) -> tuple[int, str]:
    """(family, address) of a probe host; an address passes through without a lookup."""
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    try:
        info = socket.getaddrinfo(host, port, type=kind, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        loop = asyncio.get_running_loop()
        try:
            info = await loop.getaddrinfo(host, port, type=kind)
        except socket.gaierror as exc:
            raise ProbeFailed(f"cannot resolve {host}: {exc.strerror}") from None
    family, _type, _proto, _name, sockaddr = info[0]
    return int(family), str(sockaddr[0])
