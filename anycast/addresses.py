"""Service VIPs on a local interface, so the kernel accepts the traffic the announcement attracts.

Uses the `ip` command (iproute2, on every Linux host) rather than a netlink library: a handful of
calls when a VIP's announcement changes, never per packet.
"""

from __future__ import annotations

import asyncio
import logging
from ipaddress import IPv4Network, IPv6Network, ip_network

log = logging.getLogger(__name__)

IP_COMMAND = "ip"


async def _ip(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        IP_COMMAND, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    return process.returncode or 0, stderr.decode(errors="replace").strip()


class InterfaceAddresses:
    """Adds a VIP to `interface` while it is announced and removes it afterwards (only those it added)."""

    def __init__(self, interface: str) -> None:
        self.interface = interface
        self.added: set[str] = set()

    async def ensure(self, prefix: IPv4Network | IPv6Network) -> None:
        text = str(prefix)
        if text in self.added:
            return
        code, error = await _ip("addr", "add", text, "dev", self.interface)
        if code == 0:
            self.added.add(text)
            log.info("added %s to %s", text, self.interface)
        elif "exists" not in error:  # present already (configured by hand): leave it to its owner
            log.error("cannot add %s to %s: %s", text, self.interface, error)

    async def remove(self, prefix: IPv4Network | IPv6Network) -> None:
        text = str(prefix)
        if text not in self.added:
            return
        code, error = await _ip("addr", "del", text, "dev", self.interface)
        if code != 0 and "Cannot assign" not in error:
            log.error("cannot remove %s from %s: %s", text, self.interface, error)
            return
        self.added.discard(text)
        log.info("removed %s from %s", text, self.interface)

    async def remove_all(self) -> None:
        for text in sorted(self.added):
            await self.remove(ip_network(text))
