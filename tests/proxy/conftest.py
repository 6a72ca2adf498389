"""Fixtures of the proxy tests: real HTTP backends on loopback and a proxy in the test's loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from gslb.policy import parse_document
from proxy.server import Listener, ProxyServer
from proxy.settings import ProxySettings
from proxy.table import RouteTable, compile_table


@dataclass
class Backend:
    """An aiohttp server on 127.0.0.1 that says who it is and what it received."""

    name: str
    port: int = 0
    runner: web.AppRunner | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    host: str = "127.0.0.1"
    ssl_context: Any = None

    async def start(self, extra: Callable[[web.Application], None] | None = None) -> Backend:
        app = web.Application(client_max_size=1 << 30)
        if extra is not None:
            extra(app)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
        record = {
            "backend": self.name,
            "method": request.method,
            "path": request.path_qs,
            "headers": {k: v for k, v in request.headers.items()},
            "all_headers": [[k, v] for k, v in request.headers.items()],
            "body_bytes": size,
            "peer": request.transport.get_extra_info("peername")[1] if request.transport else None,
        }
        self.requests.append(record)
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.status, text=json.dumps(record), content_type="application/json")

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture
async def backends() -> AsyncIterator[Callable[..., Awaitable[Backend]]]:
    started: list[Backend] = []

    async def start(name: str, **kwargs: Any) -> Backend:
        extra = kwargs.pop("extra", None)
        backend = await Backend(name, **kwargs).start(extra)
        started.append(backend)
        return backend

    yield start
    for backend in started:
        await backend.stop()


def table(
    routes: list[dict[str, Any]], pools: list[dict[str, Any]], health: dict[str, bool] | None = None
) -> RouteTable:
    return compile_table(
        [parse_document("route", {"tenant": "acme", **r}) for r in routes],  # type: ignore[misc]
        [parse_document("upstream", {"tenant": "acme", **p}) for p in pools],  # type: ignore[misc]
        health or {},
    )


def members(*backends: Backend, **extra: Any) -> list[dict[str, Any]]:
    return [{"address": b.host, "port": b.port, **extra} for b in backends]


@pytest.fixture
async def proxy_server() -> AsyncIterator[Callable[..., Awaitable[ProxyServer]]]:
    started: list[ProxyServer] = []

    async def start(initial: RouteTable, **settings: Any) -> ProxyServer:
        listeners = settings.pop("listeners", None) or [Listener("127.0.0.1", 0)]
        server = ProxyServer(ProxySettings(**{"tick": 0.05, **settings}), listeners)
        server.set_table(initial)
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.close(0)


async def raw_request(port: int, data: bytes, *, read_timeout: float = 3.0) -> bytes:
    """Send bytes, read until the server closes (or the timeout)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    chunks = []
    try:
        async with asyncio.timeout(read_timeout):
            while chunk := await reader.read(65536):
                chunks.append(chunk)
    except TimeoutError:
        pass
    writer.close()
    return b"".join(chunks)


class RawBackend:
    """A plain asyncio server answering every request head with canned bytes (for what aiohttp
    would not send: hop-by-hop headers, odd framing). `respond(head) -> bytes`."""

    def __init__(self, respond: Callable[[bytes], bytes], *, close: bool = False) -> None:
        self.respond = respond
        self.close_after = close
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []  # chunked request bodies as sent (chunks and trailers)
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> RawBackend:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        await reader.readexactly(int(line.split(b":")[1]))
                    elif line.lower() == b"transfer-encoding: chunked":
                        self.bodies.append(await _read_chunked(reader))
                writer.write(self.respond(head))
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    raw = b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        raw += size_line
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        raw += await reader.readexactly(size + 2)
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":  # the trailer section
        raw += line
    return raw + b"\r\n"


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes], bytes]:
    """One HTTP/1.1 response (Content-Length or chunked body) from a stream."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = b""
    return status, headers, body


async def proxy_to(backend: Any, proxy_server: Any) -> ProxyServer:
    """A proxy whose one route (host h.test) leads to `backend` (anything with a loopback `port`)."""
    server: ProxyServer = await proxy_server(
        table(
            [{"name": "r", "hosts": ["h.test"], "upstream": "u"}],
            [{"name": "u", "members": [{"address": "127.0.0.1", "port": backend.port}]}],
        )
    )
    return server
