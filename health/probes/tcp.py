"""TCP check: the connection is accepted (then closed at once)."""

from __future__ import annotations

import asyncio

from health.probes.common import resolve
from health.targets import Target


async def probe_tcp(target: Target) -> None:
    _family, address = await resolve(target.host, target.port)
    loop = asyncio.get_running_loop()
    transport, _protocol = await loop.create_connection(asyncio.Protocol, address, target.port)
    transport.abort()  # RST rather than FIN: no TIME_WAIT pile-up on the checker at high rates
