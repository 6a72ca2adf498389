"""L4 TCP proxy mode: each TCP VIP of the store served by a plain socket relay (for machines where
the XDP forwarder is unavailable), optionally telling the real the client's address with a PROXY
protocol v2 header.

A VIP listens on its own address and port (the address must be configured on this machine); its
reals are chosen by smooth weighted round robin among those up (store health; weight 0 drains:
no new connections). A real that refuses the connection (or does not accept it in time) is
skipped for the next one, and after `EJECT_AFTER` such failures in a row it is ejected, as the L7
tier ejects outliers: left out for `EJECT_BASE` seconds, doubling with each ejection up to
`EJECT_MAX`, never more than half of a VIP's reals at once, and ignored when every real left is
ejected. Reloads change reals in place (keeping their ejection); a removed VIP stops listening
while its open connections carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gslb.engine.health_view import member_health_key
from gslb.policy.l4 import VipSpec
from proxy.balance import SmoothWeighted
from proxy.limits import OutlierState
from proxy.proxy_protocol import proxy_v2_header

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
EJECT_AFTER = 3  # connect failures in a row
EJECT_BASE = 10.0  # seconds, doubled with each ejection in a row
EJECT_MAX = 300.0


@dataclass(frozen=True, slots=True)
class RealConfig:
    address: str
    port: int
    weight: int
    healthy: bool
    active: int = 0  # for the picker's protocol; L4 balances by weight only


@dataclass(frozen=True, slots=True)
class VipConfig:
    key: str
    address: str
    port: int
    proxy_protocol: bool
    reals: tuple[RealConfig, ...]


def compile_vips(vips: Iterable[VipSpec], health: Mapping[str, bool]) -> dict[str, VipConfig]:
    """The TCP VIPs with a port (port 0, "every port", is for the XDP forwarder only)."""
    compiled = {}
    for spec in vips:
        if spec.protocol != "tcp" or spec.port == 0:
            continue
        reals = tuple(
            RealConfig(
                str(real.address),
                real.port or spec.port,
                real.weight,
                real.health_check is None
                or health.get(member_health_key(spec.tenant, real.health_check, str(real.address)), True),
            )
            for real in spec.reals
        )
        compiled[spec.doc_name()] = VipConfig(
            spec.doc_name(), str(spec.address), spec.port, spec.proxy_protocol, reals
        )
    return compiled


class _Vip:
    def __init__(self, config: VipConfig) -> None:
        self.config = config
        self.picker = SmoothWeighted(len(config.reals))
        self.connections = 0
        self.outliers: dict[tuple[str, int], OutlierState] = {}  # passive health, by real address

    def reconfigure(self, config: VipConfig) -> None:
        self.config = config
        self.picker = SmoothWeighted(len(config.reals))
        kept = {(real.address, real.port) for real in config.reals}
        self.outliers = {key: state for key, state in self.outliers.items() if key in kept}

    def pick(self, exclude: set[int], now: float) -> int | None:
        reals = self.config.reals
        candidates = [index not in exclude and real.weight > 0 for index, real in enumerate(reals)]
        healthy = [ok and real.healthy for ok, real in zip(candidates, reals, strict=True)]
        outliers = self.outliers
        usable = [
            ok and not ((state := outliers.get((real.address, real.port))) and state.ejected(now))
            for ok, real in zip(healthy, reals, strict=True)
        ]
        # Every real left ejected: ejection yields to health. Every real down: try those with weight
        # regardless (fail open, as DNS).
        for choice in (usable, healthy, candidates):
            if any(choice):
                return self.picker.pick(reals, choice, None)
        return None

    def connected(self, real: RealConfig, now: float) -> None:
        state = self.outliers.get((real.address, real.port))
        if state is not None:
            state.success()
            state.forgive(now, EJECT_BASE)

    def failed(self, real: RealConfig, now: float) -> None:
        state = self.outliers.setdefault((real.address, real.port), OutlierState())
        state.forgive(now, EJECT_BASE)
        if not state.connect_error(EJECT_AFTER) or state.ejected(now):
            return
        ejected = sum(1 for other in self.outliers.values() if other.ejected(now))
        if ejected + 1 > len(self.config.reals) // 2:
            return  # at most half of the reals ejected at once
        seconds = state.eject(now, EJECT_BASE, EJECT_MAX)
        log.warning(
            "VIP %s: real %s:%d ejected for %.0f s after %d failed connections in a row",
            self.config.key,
            real.address,
            real.port,
            seconds,
            EJECT_AFTER,
        )


class _Relay(asyncio.Protocol):
    """One side of a relayed connection; `peer` is the other side."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Relay | None = None
        self.buffer: list[bytes] = []
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
        else:
            self.buffer.append(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is not None and peer.transport is not None and peer.transport.can_write_eof():
            peer.transport.write_eof()
        if peer is not None and peer.eof and self.transport is not None:
            self.transport.close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        peer, self.peer = self.peer, None
        if peer is not None and peer.transport is not None:
            peer.peer = None
            peer.transport.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _Client(_Relay):
    def __init__(self, proxy: L4Proxy, vip: _Vip) -> None:
        super().__init__()
        self.proxy = proxy
        self.vip = vip
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        transport.pause_reading()  # type: ignore[attr-defined]
        self.vip.connections += 1
        self.proxy.clients.add(self)
        self.task = asyncio.ensure_future(self._connect())

    def connection_lost(self, exc: Exception | None) -> None:
        self.vip.connections -= 1
        self.proxy.clients.discard(self)
        if self.task is not None and not self.task.done():
            self.task.cancel()
        super().connection_lost(exc)

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        vip = self.vip
        tried: set[int] = set()
        assert self.transport is not None
        while True:
            index = vip.pick(tried, loop.time())
            if index is None:
                log.warning("VIP %s: no real accepted the connection", vip.config.key)
                self.transport.abort()
                return
            tried.add(index)
            real = vip.config.reals[index]
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    transport, upstream = await loop.create_connection(_Relay, real.address, real.port)
            except (OSError, TimeoutError) as exc:
                vip.failed(real, loop.time())
                log.info(
                    "VIP %s: real %s:%d failed (%s); trying another",
                    vip.config.key,
                    real.address,
                    real.port,
                    exc,
                )
                continue
            vip.connected(real, loop.time())
            break
        if self.transport.is_closing():
            transport.close()
            return
        if vip.config.proxy_protocol:
            transport.write(
                proxy_v2_header(
                    self.transport.get_extra_info("peername"), self.transport.get_extra_info("sockname")
                )
            )
        upstream.peer, self.peer = self, upstream
        if upstream.buffer:
            self.transport.write(b"".join(upstream.buffer))
            upstream.buffer.clear()
        if upstream.eof and self.transport.can_write_eof():
            self.transport.write_eof()
        self.transport.resume_reading()


class L4Proxy:
    def __init__(self, *, reuse_port: bool = False) -> None:
        self.reuse_port = reuse_port
        self.vips: dict[str, _Vip] = {}
        self.servers: dict[str, asyncio.AbstractServer] = {}
        self.clients: set[_Client] = set()
        self.bound: dict[str, tuple[str, int]] = {}

    async def update(self, configs: Mapping[str, VipConfig]) -> None:
        """Listen for new VIPs, stop listening for removed ones, change reals in place."""
        loop = asyncio.get_running_loop()
        for key in [key for key in self.servers if key not in configs]:
            self.servers.pop(key).close()  # open connections carry on: only the listener goes
            self.vips.pop(key, None)
            self.bound.pop(key, None)
        for key, config in configs.items():
            vip = self.vips.get(key)
            if vip is not None and (vip.config.address, vip.config.port) == (config.address, config.port):
                if vip.config != config:
                    vip.reconfigure(config)
                continue
            if key in self.servers:
                self.servers.pop(key).close()
            vip = _Vip(config)
            try:
                server = await loop.create_server(
                    lambda vip=vip: _Client(self, vip),  # type: ignore[misc]
                    config.address,
                    config.port,
                    reuse_address=True,
                    reuse_port=self.reuse_port or None,
                    backlog=4096,
                )
            except OSError as exc:
                log.error(
                    "VIP %s: cannot listen on %s:%d (%s); is the address configured on this machine?",
                    key,
                    config.address,
                    config.port,
                    exc.strerror,
                )
                continue
            self.vips[key] = vip
            self.servers[key] = server
            sockname = server.sockets[0].getsockname()
            self.bound[key] = (sockname[0], sockname[1])

    async def close(self) -> None:
        for server in self.servers.values():
            server.close()
        for client in list(self.clients):
            if client.transport is not None:
                client.transport.close()
        for server in self.servers.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)
        self.servers.clear()
        self.vips.clear()
