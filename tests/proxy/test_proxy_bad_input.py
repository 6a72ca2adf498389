"""Bad input: each refused with the right status (or closed) before reaching an upstream, while
other clients keep being served."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.proxy.conftest import members, raw_request, read_response, table

ROUTE = [{"name": "r", "hosts": ["h.test"], "upstream": "u", "max_body_bytes": 1000}]


@pytest.fixture
async def setup(backends: Any, proxy_server: Any) -> Any:
    backend = await backends("b")
    server = await proxy_server(
        table(ROUTE, [{"name": "u", "members": members(backend)}]),
        header_timeout=0.4,
        keepalive_timeout=0.6,
        max_header_bytes=8192,
        max_url_bytes=2048,
        max_headers=50,
    )
    return backend, server.bound[0][1]


CASES = [
    ("garbage request line", b"HELLO\r\n\r\n", 400),
    ("bad method token", b"G@T / HTTP/1.1\r\nHost: h.test\r\n\r\n", 400),
    ("bad version", b"GET / HTTP/9.9\r\nHost: h.test\r\n\r\n", 400),
    ("space in header name", b"GET / HTTP/1.1\r\nHost: h.test\r\nBad Name: x\r\n\r\n", 400),
    ("header without colon", b"GET / HTTP/1.1\r\nHost: h.test\r\nNoColon\r\n\r\n", 400),
    ("obs-fold continuation", b"GET / HTTP/1.1\r\nHost: h.test\r\nX: a\r\n b\r\n\r\n", 400),
    ("missing Host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two Hosts", b"GET / HTTP/1.1\r\nHost: h.test\r\nHost: evil.test\r\n\r\n", 400),
    ("CL and TE", b"POST / HTTP/1.1\r\nHost: h.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),  # noqa: E501
    ("TE and CL", b"POST / HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400),  # noqa: E501
    ("conflicting CL", b"POST / HTTP/1.1\r\nHost: h.test\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400),  # noqa: E501
    ("CL list", b"POST / HTTP/1.1\r\nHost: h.test\r\nContent-Length: 4, 5\r\n\r\nabcde", 400),
    ("negative CL", b"POST / HTTP/1.1\r\nHost: h.test\r\nContent-Length: -1\r\n\r\n", 400),
    ("TE not chunked", b"POST / HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    ("TE obfuscated", b"POST / HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: xchunked\r\n\r\n", 400),
    ("TE chunked twice", b"POST / HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),  # noqa: E501
    ("bad chunk size", b"POST / HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),  # noqa: E501
    ("URL too long", b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: h.test\r\n\r\n", 414),
    ("header too large", b"GET / HTTP/1.1\r\nHost: h.test\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    ("too many headers", b"GET / HTTP/1.1\r\nHost: h.test\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(60)) + b"\r\n", 431),  # noqa: E501
    ("body over the limit (CL)", b"POST / HTTP/1.1\r\nHost: h.test\r\nContent-Length: 5000\r\n\r\n", 413),
    ("body over the limit (chunked)", b"POST / HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + b"z" * 2000 + b"\r\n0\r\n\r\n", 413),  # noqa: E501
    ("unsupported Expect", b"GET / HTTP/1.1\r\nHost: h.test\r\nExpect: magic\r\n\r\n", 417),
    ("invalid target", b"GET foo HTTP/1.1\r\nHost: h.test\r\n\r\n", 400),
]  # fmt: skip


@pytest.mark.parametrize(("name", "data", "status"), CASES, ids=[case[0] for case in CASES])
async def test_bad_request_is_refused_and_closed(setup: Any, name: str, data: bytes, status: int) -> None:
    backend, port = setup
    answer = await raw_request(port, data, read_timeout=2.0)
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:200]
    assert b"Connection: close" in answer
    assert backend.requests == [], "nothing of a refused request reaches the upstream"


async def test_smuggled_request_never_reaches_the_upstream(setup: Any) -> None:
    backend, port = setup
    # The classic CL.TE desync: a front end honouring Content-Length would pass the "GET /admin" on.
    data = (
        b"POST / HTTP/1.1\r\nHost: h.test\r\nContent-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET /admin HTTP/1.1\r\nHost: h.test\r\n\r\n"
    )
    answer = await raw_request(port, data)
    assert answer.count(b"HTTP/1.1") == 1 and answer.startswith(b"HTTP/1.1 400")
    assert backend.requests == []


async def test_slowloris_gets_408_while_others_are_served(setup: Any) -> None:
    _backend, port = setup
    slow = []
    for _ in range(20):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: h.test\r\n")
        slow.append((reader, writer))
    started = time.monotonic()
    # A well-behaved client is served at once meanwhile.
    for _ in range(5):
        answer = await raw_request(port, b"GET /ok HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200")
    assert time.monotonic() - started < 0.4
    for _reader, writer in slow:
        writer.write(b"X-Trickle: 1\r\n")  # bytes keep coming, but the head never completes
    for reader, writer in slow:
        async with asyncio.timeout(3):
            answer = await reader.read()
        assert answer.startswith(b"HTTP/1.1 408"), answer
        writer.close()
    assert time.monotonic() - started < 2.0


async def test_idle_keepalive_and_silent_connections_are_closed(setup: Any) -> None:
    _backend, port = setup
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: h.test\r\n\r\n")
    status, _, _ = await read_response(reader)
    assert status == 200
    silent_reader, silent_writer = await asyncio.open_connection("127.0.0.1", port)
    async with asyncio.timeout(3):
        assert await reader.read() == b""  # closed after keepalive_timeout, no error response
        assert await silent_reader.read() == b""  # never sent a byte: closed after header_timeout
    writer.close()
    silent_writer.close()


async def test_oversized_head_trickled_in_small_pieces_is_refused(setup: Any) -> None:
    _backend, port = setup
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: h.test\r\nX-Long: ")
    try:
        for _ in range(40):
            writer.write(b"v" * 512)  # one header value that never ends
            await writer.drain()
    except ConnectionError:
        pass
    async with asyncio.timeout(3):
        answer = await reader.read()
    assert answer.startswith(b"HTTP/1.1 431")
    writer.close()
