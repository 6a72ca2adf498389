"""Per-route timeouts: connect (a member that never accepts), request (no answer in time: 504),
idle (an answer that stalls mid-stream is cut), each within about its configured time."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import Any

from tests.proxy.conftest import RawBackend, members, raw_request, table

GET = b"GET / HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n"


async def test_connect_timeout(proxy_server: Any) -> None:
    # A listener whose accept queue is full: the kernel drops further SYNs, so connecting hangs.
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(0)
    port = black_hole.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        routes = [
            {
                "name": "r",
                "hosts": ["h.test"],
                "upstream": "u",
                "timeouts": {"connect": 0.3},
                "retries": {"attempts": 0},
            }
        ]
        server = await proxy_server(
            table(routes, [{"name": "u", "members": [{"address": "127.0.0.1", "port": port}]}])
        )
        started = time.monotonic()
        answer = await raw_request(server.bound[0][1], GET)
        elapsed = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 502") and b"connect timeout" in answer
        assert 0.25 < elapsed < 1.5
    finally:
        for filler in fillers:
            filler.close()
        black_hole.close()


async def test_request_timeout_answers_504(backends: Any, proxy_server: Any) -> None:
    slow = await backends("slow")
    slow.delay = 0.8
    routes = [
        {
            "name": "r",
            "hosts": ["h.test"],
            "upstream": "u",
            "timeouts": {"request": 0.3},
            "retries": {"attempts": 0},
        }
    ]
    server = await proxy_server(table(routes, [{"name": "u", "members": members(slow)}]))
    started = time.monotonic()
    answer = await raw_request(server.bound[0][1], GET)
    assert answer.startswith(b"HTTP/1.1 504")
    assert 0.25 < time.monotonic() - started < 1.5


async def test_stalled_response_is_cut_after_idle_timeout(proxy_server: Any) -> None:
    stall = await RawBackend(lambda head: b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial").start()
    routes = [{"name": "r", "hosts": ["h.test"], "upstream": "u", "timeouts": {"idle": 0.3}}]
    server = await proxy_server(
        table(routes, [{"name": "u", "members": [{"address": "127.0.0.1", "port": stall.port}]}])
    )
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound[0][1])
        writer.write(GET)
        started = time.monotonic()
        async with asyncio.timeout(3):
            data = await reader.read()  # until the proxy cuts the connection
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"partial")
        assert 0.25 < time.monotonic() - started < 1.5
        writer.close()
    finally:
        await stall.stop()
