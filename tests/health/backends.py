"""Real backends on loopback for the health tests: an HTTP server that can be told to misbehave,
a TCP listener that can go away, a DNS server and a UDP echo server, plus a running `gslb dns`."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rrset

from gslb.importer import load_policy_yaml
from gslb.store import KeySpace, PolicyStore, Store
from gslb.store.factory import redis_client
from tests.conftest import free_port

GOOD_BODY = b"OK all systems go"


class HttpBackend:
    """mode: ok | fail (500) | hang (never answers) | body (200, wrong body) | close (drops the line)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.mode = "ok"
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> HttpBackend:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            mode = self.mode
            if mode == "hang":
                await asyncio.sleep(60)
            if mode == "close":
                writer.transport.abort()
                return
            status, body = {"ok": (200, GOOD_BODY), "fail": (500, b"broken"), "body": (200, b"maintenance")}[
                mode
            ]
            writer.write(
                b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                % (status, len(body), body)
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def stop(self) -> None:
        """The backend dies: no more listener, every open connection reset."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            self._server = None


class TcpListener:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None

    async def start(self) -> TcpListener:
        async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        self._server = await asyncio.start_server(accept, self.host, self.port, reuse_address=True)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None


class DnsBackend(asyncio.DatagramProtocol):
    """Answers A queries with 192.0.2.53; mode 'servfail' answers SERVFAIL instead."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        if self.mode == "ok":
            response.answer.append(dns.rrset.from_text(query.question[0].name, 30, "IN", "A", "192.0.2.53"))
        else:
            response.set_rcode(dns.rcode.SERVFAIL)
        self.transport.sendto(response.to_wire(), addr)


class UdpEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(b"pong:" + data, addr)


@contextlib.asynccontextmanager
async def policy_store(redis_url: str, yaml_text: str) -> AsyncIterator[tuple[Store, str]]:
    prefix = f"health{uuid.uuid4().hex[:8]}"
    store = Store(redis_client(redis_url), keys=KeySpace(prefix))
    imported = load_policy_yaml(yaml_text, filename="test")
    await PolicyStore(store).apply(list(imported.specs))
    try:
        yield store, prefix
    finally:
        await store.close()


class GslbDns:
    """A running `gslb dns` process following the test's Redis."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gslb",
                "-q",
                "dns",
                "--redis-url",
                redis_url,
                "--prefix",
                prefix,
                "--listen",
                f"127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    async def answer(self, name: str) -> set[str]:
        """The set of A values answered for `name`, waiting for the server to start."""
        deadline = time.monotonic() + 15
        while True:
            try:
                response = await dns.asyncquery.udp(
                    dns.message.make_query(name, "A"), "127.0.0.1", port=self.port, timeout=0.3
                )
                return {rdata.address for rrset in response.answer for rdata in rrset}
            except (dns.exception.Timeout, OSError):
                if self.process.poll() is not None:
                    raise RuntimeError(f"gslb dns exited: {self.process.communicate()[1]}") from None
                if time.monotonic() > deadline:
                    raise

    async def wait_answer(self, name: str, expected: set[str], timeout: float = 5.0) -> float:
        """Seconds until the answer for `name` is `expected` (polled every 5 ms); AssertionError if never."""
        started = time.monotonic()
        last: set[str] = set()
        while time.monotonic() - started < timeout:
            last = await self.answer(name)
            if last == expected:
                return time.monotonic() - started
            await asyncio.sleep(0.005)
        raise AssertionError(f"{name} answered {sorted(last)}, not {sorted(expected)}, within {timeout} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
