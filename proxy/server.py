"""The proxy process's data plane: listeners, the shared context, the timeout sweep, reloads, drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

from proxy.http1 import ClientConnection
from proxy.metrics import ProxyMetrics
from proxy.ratelimit import RateLimiter
from proxy.settings import ProxySettings
from proxy.table import RouteTable, compile_table
from proxy.upstream import EjectionReporter, Upstreams

log = logging.getLogger(__name__)


@dataclass(eq=False)
class ProxyContext:
    """What every connection of this process shares. `table` is replaced by reference on reload."""

    loop: asyncio.AbstractEventLoop
    settings: ProxySettings
    table: RouteTable
    upstreams: Upstreams
    metrics: ProxyMetrics
    limiter: RateLimiter = field(default_factory=RateLimiter)
    connections: set[ClientConnection] = field(default_factory=set)
    upstream_tls: ssl.SSLContext | None = None  # for pools with `tls: true`

    def upstream_tls_context(self) -> ssl.SSLContext:
        """Verifies upstream certificates against --upstream-ca (else the system's CAs); the
        member's address is the name checked (an IP address needs an IP SAN)."""
        if self.upstream_tls is None:
            context = ssl.create_default_context(cafile=self.settings.upstream_ca)
            context.set_alpn_protocols(["http/1.1"])
            self.upstream_tls = context
        return self.upstream_tls


@dataclass(frozen=True, slots=True)
class Listener:
    host: str
    port: int
    tls: ssl.SSLContext | None = None

    @property
    def scheme(self) -> bytes:
        return b"https" if self.tls is not None else b"http"


class ProxyServer:
    def __init__(
        self,
        settings: ProxySettings,
        listeners: list[Listener],
        *,
        reuse_port: bool = False,
        reporter: EjectionReporter | None = None,
        access_log: Any = None,
    ) -> None:
        self.settings = settings
        self.listeners = listeners
        self.reuse_port = reuse_port
        self.upstreams = Upstreams(reporter)
        self.metrics = ProxyMetrics()
        self.metrics.access_log = access_log
        self.ctx: ProxyContext | None = None
        self.servers: list[asyncio.AbstractServer] = []
        self.bound: list[tuple[str, int]] = []
        self._sweeper: asyncio.Task[None] | None = None
        self._table = compile_table((), (), {})

    @property
    def table(self) -> RouteTable:
        return self._table

    def set_table(self, table: RouteTable) -> None:
        """Swap routes and pools: in-flight exchanges keep the objects they started with."""
        self.upstreams.update(table.pools)
        self._table = table
        if self.ctx is not None:
            self.ctx.table = table
            for conn in self.ctx.connections:
                conn.forget()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ctx = self.ctx = ProxyContext(loop, self.settings, self._table, self.upstreams, self.metrics)
        self.metrics.active_connections = lambda: len(ctx.connections)
        self.metrics.ejections = lambda: self.upstreams.ejections
        self.metrics.ejected = lambda: sum(
            1 for member in self.upstreams.members.values() if member.outlier.ejected_until > loop.time()
        )
        try:
            for listener in self.listeners:
                scheme = listener.scheme
                server = await loop.create_server(
                    lambda scheme=scheme: ClientConnection(ctx, scheme),  # type: ignore[misc]
                    listener.host,
                    listener.port,
                    ssl=listener.tls,
                    ssl_handshake_timeout=self.settings.header_timeout if listener.tls else None,
                    reuse_port=self.reuse_port or None,
                    backlog=4096,
                )
                self.servers.append(server)
                for sock in server.sockets:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    address = sock.getsockname()
                    self.bound.append((address[0], address[1]))
        except OSError:
            await self.close(0)
            raise
        self._sweeper = asyncio.create_task(self._sweep(), name="proxy-sweep")

    async def _sweep(self) -> None:
        assert self.ctx is not None
        ctx = self.ctx
        loop = ctx.loop
        rounds = 0
        while True:
            await asyncio.sleep(self.settings.tick)
            now = loop.time()
            for conn in list(ctx.connections):
                try:
                    conn.check(now)
                except Exception:  # one broken connection must not stop every timeout
                    log.exception("timeout check failed")
                    conn.abort()
            self.upstreams.sweep(now, self.settings.upstream_idle_timeout)
            rounds += 1
            if rounds % 40 == 0:
                ctx.limiter.sweep(now)

    async def close(self, drain: float = 10.0) -> None:
        """Stop accepting, let requests in flight finish (up to `drain` seconds), then close all."""
        for server in self.servers:
            server.close()
        ctx = self.ctx
        if ctx is not None and drain > 0:
            loop = ctx.loop
            deadline = loop.time() + drain
            while loop.time() < deadline and any(conn.busy for conn in ctx.connections):
                await asyncio.sleep(0.02)
        if ctx is not None:
            for conn in list(ctx.connections):
                conn.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        self.upstreams.close()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)
        self.servers.clear()
