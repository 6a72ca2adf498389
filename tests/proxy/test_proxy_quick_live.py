"""The quick path (proxy.quick) on real sockets: what it remembers never outlives what it depends on
(the route table, the response head), and what it forwards is what the full path forwards."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.proxy.conftest import RawBackend, members, proxy_to, read_response, table


async def test_a_remembered_request_follows_a_reload(backends: Any, proxy_server: Any) -> None:
    first, second = await backends("first"), await backends("second")
    routes = [{"name": "r", "hosts": ["h.test"], "upstream": "one"}]
    pools = [{"name": "one", "members": members(first)}, {"name": "two", "members": members(second)}]
    server = await proxy_server(table(routes, pools))
    reader, writer = await asyncio.open_connection("127.0.0.1", server.bound[0][1])
    request = b"GET /same HTTP/1.1\r\nHost: h.test\r\n\r\n"  # byte-identical every time
    try:
        for _ in range(3):
            writer.write(request)
            status, _, body = await read_response(reader)
            assert status == 200 and b'"backend": "first"' in body
        # The route now names the other pool: the same bytes on the same connection go there.
        server.set_table(table([{"name": "r", "hosts": ["h.test"], "upstream": "two"}], pools))
        # Forgotten at once (not kept, with the old table, by connections that stay idle).
        assert all(conn._memo is None for conn in server.ctx.connections)
        for _ in range(3):
            writer.write(request)
            status, _, body = await read_response(reader)
            assert status == 200 and b'"backend": "second"' in body
        # And a route that is gone answers 404 at once, not from memory.
        server.set_table(table([], pools))
        writer.write(request)
        status, _, _ = await read_response(reader)
        assert status == 404
    finally:
        writer.close()
    assert len(first.requests) == 3 and len(second.requests) == 3


async def test_responses_with_the_same_head_shape_keep_their_own_bytes(proxy_server: Any) -> None:
    served = 0

    def respond(head: bytes) -> bytes:
        nonlocal served
        served += 1
        # Same length every time, different bytes: in a header value, then in the body.
        tag = b"%04d" % served
        if served <= 3:
            return b"HTTP/1.1 200 OK\r\nX-Count: " + tag + b"\r\nContent-Length: 4\r\n\r\nbody"
        return b"HTTP/1.1 200 OK\r\nX-Count: same\r\nContent-Length: 4\r\n\r\n" + tag

    raw = await RawBackend(respond).start()
    server = await proxy_to(raw, proxy_server)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.bound[0][1])
    try:
        seen = []
        for _ in range(6):
            writer.write(b"GET / HTTP/1.1\r\nHost: h.test\r\n\r\n")
            status, headers, body = await read_response(reader)
            assert status == 200
            seen.append((headers[b"x-count"], body))
    finally:
        writer.close()
        await raw.stop()
    assert seen == [
        (b"0001", b"body"),
        (b"0002", b"body"),
        (b"0003", b"body"),
        (b"same", b"0004"),
        (b"same", b"0005"),
        (b"same", b"0006"),
    ]


async def test_quick_and_full_paths_forward_the_same_request(proxy_server: Any) -> None:
    """A plain GET (quick) and the same GET with a body-less POST's twin (full) reach the upstream
    with the same forwarding fields and no hop-by-hop ones; both answers are the same to the client."""
    raw = await RawBackend(
        lambda head: b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
    ).start()
    server = await proxy_to(raw, proxy_server)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.bound[0][1])
    try:
        answers = []
        for request in (
            b"GET /a HTTP/1.1\r\nHost: h.test\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n",  # quick
            # the full path: a Content-Length, even of 0, is not for the quick one
            b"GET /a HTTP/1.1\r\nHost: h.test\r\nAccept: */*\r\nConnection: keep-alive\r\n"
            b"Content-Length: 0\r\n\r\n",
        ):
            writer.write(request)
            answers.append(await read_response(reader))
    finally:
        writer.close()
        await raw.stop()
    assert answers[0] == answers[1] == (200, {b"content-length": b"2"}, b"ok")
    quick_head, full_head = raw.heads
    for head in (quick_head, full_head):
        lines = head.split(b"\r\n")
        assert lines[0] == b"GET /a HTTP/1.1"
        names = [line.split(b":")[0].lower() for line in lines[1:] if line]
        assert b"connection" not in names and b"content-length" not in names
        for name in (b"host", b"accept", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"):
            assert names.count(name) == 1, (name, head)
    assert b"X-Forwarded-For: 127.0.0.1\r\n" in quick_head and b"X-Forwarded-For: 127.0.0.1\r\n" in full_head
    assert b'Forwarded: for=127.0.0.1;proto=http;host="h.test"' in quick_head


async def test_quick_requests_to_an_upstream_that_closes_after_each_answer(proxy_server: Any) -> None:
    """Whether the close is seen while the connection is idle or only once the next request is
    written (then the GET is retried on a fresh one), the client gets one answer per request."""
    raw = await RawBackend(
        lambda head: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", close=True
    ).start()  # closes every connection after one answer, without saying so
    server = await proxy_to(raw, proxy_server)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.bound[0][1])
    try:
        for _ in range(4):
            writer.write(b"GET / HTTP/1.1\r\nHost: h.test\r\n\r\n")
            status, _, body = await read_response(reader)
            assert (status, body) == (200, b"ok")
            await asyncio.sleep(0.05)  # let the close arrive while the connection sits idle
    finally:
        writer.close()
        await raw.stop()
    assert len(raw.heads) == 4
