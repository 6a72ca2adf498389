"""Plain UDP check: send a payload, expect a reply (containing `expect`, when given)."""

from __future__ import annotations

import asyncio

from gslb.policy.health import UdpCheck
from health.probes.common import ProbeFailed, resolve
from health.targets import Target


class _Reply(asyncio.DatagramProtocol):
    def __init__(self, future: asyncio.Future[bytes]) -> None:
        self.future = future

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not self.future.done():
            self.future.set_result(data)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable and friends
        if not self.future.done():
            self.future.set_exception(exc)


def payload(check: UdpCheck) -> bytes:
    return bytes.fromhex(check.send) if check.send_hex else check.send.encode()


async def probe_udp(target: Target) -> None:
    check = target.check
    if not isinstance(check, UdpCheck):
        raise ProbeFailed(f"check type {check.type!r} is not a UDP check")
    _family, address = await resolve(target.host, target.port, udp=True)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[bytes] = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Reply(future), remote_addr=(address, target.port)
    )
    try:
        transport.sendto(payload(check))
        reply = await future
    finally:
        transport.close()
    expect = check.expect
    if expect is not None and expect.encode() not in reply:
        raise ProbeFailed(f"reply does not contain {expect!r}")
