"""The HTTP data path against real backends on loopback: routing, headers, rewrites, keep-alive
pools, streaming in both directions, HTTP/1.0, HEAD, Expect, pipelining."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from aiohttp import web

from tests.proxy.conftest import RawBackend, members, proxy_to, raw_request, read_response, table


async def get(
    port: int, host: str, path: str = "/", method: str = "GET", **kwargs: Any
) -> tuple[int, Any, Any]:
    headers = {"Host": host, **kwargs.pop("headers", {})}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"http://127.0.0.1:{port}{path}", headers=headers, **kwargs) as response,
    ):
        text = await response.text()
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        return response.status, response.headers, body


async def test_routes_by_host_path_and_method(backends: Any, proxy_server: Any) -> None:
    site, api, admin, wild = [await backends(name) for name in ("site", "api", "admin", "wild")]
    routes = [
        {"name": "site", "hosts": ["www.example.com"], "upstream": "site"},
        {"name": "api", "hosts": ["www.example.com"], "path": "/api", "upstream": "api"},
        {"name": "admin", "hosts": ["www.example.com"], "path": "/api/admin", "path_match": "exact",
         "methods": ["POST"], "upstream": "admin"},
        {"name": "wild", "hosts": ["*.example.org"], "path": "/v[0-9]+/", "path_match": "regex", "upstream": "wild"},  # noqa: E501
    ]  # fmt: skip
    pools = [
        {"name": n, "members": members(b)}
        for n, b in (("site", site), ("api", api), ("admin", admin), ("wild", wild))
    ]
    server = await proxy_server(table(routes, pools))
    port = server.bound[0][1]
    assert (await get(port, "www.example.com", "/index.html"))[2]["backend"] == "site"
    assert (await get(port, "WWW.Example.COM:8080", "/api/users?x=1"))[2]["backend"] == "api"
    assert (await get(port, "www.example.com", "/api/admin", "POST"))[2]["backend"] == "admin"
    assert (await get(port, "www.example.com", "/api/admin", "GET"))[2]["backend"] == "api"
    assert (await get(port, "a.b.example.org", "/v2/thing"))[2]["backend"] == "wild"
    status, _, body = await get(port, "a.example.org", "/thing")
    assert status == 404 and "no route" in body
    assert (await get(port, "unknown.net"))[0] == 404
    assert api.requests[0]["path"] == "/api/users?x=1"


async def test_forwarding_headers_and_hop_by_hop_stripping(backends: Any, proxy_server: Any) -> None:
    backend = await backends("b")
    server = await proxy_server(
        table(
            [{"name": "r", "hosts": ["h.test"], "upstream": "u"}],
            [{"name": "u", "members": members(backend)}],
        )
    )
    port = server.bound[0][1]
    request = (
        b"GET /p HTTP/1.1\r\nHost: h.test\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n"
        b"Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\n"
        b"X-Forwarded-For: 203.0.113.7\r\nForwarded: for=203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
        b"X-Kept: yes\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    status, _headers, body = await read_response(reader)
    writer.close()
    assert status == 200
    seen = {k.lower(): v for k, v in json.loads(body)["headers"].items()}
    for hop in ("x-secret", "keep-alive", "te", "proxy-authorization"):
        assert hop not in seen, hop
    assert seen["x-kept"] == "yes"
    assert seen["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"  # ours, not the client's claim
    assert seen["x-forwarded-host"] == "h.test"
    assert seen["forwarded"] == 'for=203.0.113.7, for=127.0.0.1;proto=http;host="h.test"'


async def test_response_hop_by_hop_headers_are_stripped(proxy_server: Any) -> None:
    raw = await RawBackend(
        lambda head: (
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal\r\nX-Internal: 1\r\n"
            b"Keep-Alive: timeout=9\r\nX-Public: 2\r\nContent-Length: 2\r\n\r\nok"
        )
    ).start()
    server = await proxy_to(raw, proxy_server)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound[0][1])
        writer.write(b"GET / HTTP/1.1\r\nHost: h.test\r\n\r\n")
        status, headers, body = await read_response(reader)
        writer.close()
        assert (status, body) == (200, b"ok")
        assert b"x-internal" not in headers and b"keep-alive" not in headers and b"connection" not in headers
        assert headers[b"x-public"] == b"2"
    finally:
        await raw.stop()


async def test_header_rules_and_path_rewrite(backends: Any, proxy_server: Any) -> None:
    backend = await backends("b")
    route = {
        "name": "r",
        "hosts": ["h.test"],
        "path": "/api",
        "rewrite_path": "/v2",
        "upstream": "u",
        "request_headers": {"remove": ["X-Drop"], "set": {"X-Env": "prod"}, "add": {"X-Extra": "1"}},
        "response_headers": {"remove": ["Server"], "set": {"X-Served-By": "gslb"}},
    }
    server = await proxy_server(table([route], [{"name": "u", "members": members(backend)}]))
    status, headers, body = await get(
        server.bound[0][1], "h.test", "/api/items?q=1", headers={"X-Drop": "x", "X-Env": "dev"}
    )
    assert status == 200
    assert body["path"] == "/v2/items?q=1"
    seen = {k.lower(): v for k, v in body["headers"].items()}
    assert "x-drop" not in seen and seen["x-env"] == "prod" and seen["x-extra"] == "1"
    assert headers["X-Served-By"] == "gslb" and "Server" not in headers


async def test_upstream_connections_are_kept_alive_and_reused(backends: Any, proxy_server: Any) -> None:
    backend = await backends("b")
    server = await proxy_server(
        table(
            [{"name": "r", "hosts": ["h.test"], "upstream": "u"}],
            [{"name": "u", "members": members(backend)}],
        )
    )
    port = server.bound[0][1]
    async with aiohttp.ClientSession() as session:
        for _ in range(20):
            async with session.get(f"http://127.0.0.1:{port}/", headers={"Host": "h.test"}) as response:
                assert response.status == 200
                await response.read()
    peers = {record["peer"] for record in backend.requests}
    assert len(backend.requests) == 20
    assert len(peers) == 1, f"20 sequential requests used {len(peers)} upstream connections"


async def test_large_upload_and_download_stream_through(backends: Any, proxy_server: Any) -> None:
    size = 48 * 2**20
    chunk = b"x" * 2**16

    async def download(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(size // len(chunk)):
            await response.write(chunk)
        await response.write_eof()
        return response

    backend = await backends("b", extra=lambda app: app.router.add_get("/download", download))
    server = await proxy_server(
        table(
            [{"name": "r", "hosts": ["h.test"], "upstream": "u"}],
            [{"name": "u", "members": members(backend)}],
        )
    )
    port = server.bound[0][1]

    async def body() -> Any:
        for _ in range(size // len(chunk)):
            yield chunk

    async with aiohttp.ClientSession() as session:
        # chunked upload (no Content-Length)
        async with session.post(
            f"http://127.0.0.1:{port}/up", data=body(), headers={"Host": "h.test"}
        ) as response:
            assert response.status == 200
            assert (await response.json())["body_bytes"] == size
        # Content-Length upload
        async with session.put(
            f"http://127.0.0.1:{port}/up", data=b"y" * size, headers={"Host": "h.test"}
        ) as response:
            assert (await response.json())["body_bytes"] == size
        received = 0
        async with session.get(f"http://127.0.0.1:{port}/download", headers={"Host": "h.test"}) as response:
            assert response.headers.get("Transfer-Encoding") == "chunked"
            async for piece in response.content.iter_any():
                received += len(piece)
        assert received == size


async def test_http10_head_expect_and_pipelining(backends: Any, proxy_server: Any) -> None:
    backend = await backends("b")
    server = await proxy_server(
        table(
            [{"name": "r", "hosts": ["h.test"], "upstream": "u"}],
            [{"name": "u", "members": members(backend)}],
        )
    )
    port = server.bound[0][1]
    # HTTP/1.0 without keep-alive: answered, then closed.
    data = await raw_request(port, b"GET /ten HTTP/1.0\r\nHost: h.test\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200") and b"Connection: close" in data and data.endswith(b"}")
    # HEAD: the length announced, no body, the connection still usable.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"HEAD /h HTTP/1.1\r\nHost: h.test\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length:" in head
    # Expect: 100-continue is answered by the proxy, then the body goes through.
    writer.write(b"POST /e HTTP/1.1\r\nHost: h.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"hello")
    status, _, body = await read_response(reader)
    assert status == 200 and json.loads(body)["body_bytes"] == 5
    # Absolute form: the target's authority wins over the Host header, for routing and upstream.
    writer.write(b"GET http://h.test/abs?x=1 HTTP/1.1\r\nHost: elsewhere.test\r\n\r\n")
    status, _, body = await read_response(reader)
    assert status == 200 and json.loads(body)["path"] == "/abs?x=1"
    assert json.loads(body)["headers"]["Host"] == "h.test"
    # Two pipelined requests in one write: two answers, in order.
    writer.write(b"GET /one HTTP/1.1\r\nHost: h.test\r\n\r\nGET /two HTTP/1.1\r\nHost: h.test\r\n\r\n")
    first = await read_response(reader)
    second = await read_response(reader)
    assert json.loads(first[2])["path"] == "/one" and json.loads(second[2])["path"] == "/two"
    writer.close()


async def test_upstream_close_delimited_response_is_rechunked(proxy_server: Any) -> None:
    raw = await RawBackend(
        lambda head: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it", close=True
    ).start()
    server = await proxy_to(raw, proxy_server)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound[0][1])
        for _ in range(2):  # the client connection stays usable
            writer.write(b"GET / HTTP/1.1\r\nHost: h.test\r\n\r\n")
            status, headers, body = await read_response(reader)
            assert (status, headers[b"transfer-encoding"], body) == (200, b"chunked", b"all of it")
        writer.close()
    finally:
        await raw.stop()


async def test_misbehaving_upstreams(proxy_server: Any) -> None:
    garbage = await RawBackend(lambda head: b"NOT HTTP AT ALL\r\n\r\n").start()
    truncated = await RawBackend(
        lambda head: b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..", close=True
    ).start()
    silent = await RawBackend(lambda head: b"", close=True).start()  # closes without answering
    routes = [
        {"name": n, "hosts": [f"{n}.test"], "upstream": n, "retries": {"attempts": 0}}
        for n in ("garbage", "truncated", "silent")
    ]
    pools = [
        {"name": n, "members": [{"address": "127.0.0.1", "port": b.port}]}
        for n, b in (("garbage", garbage), ("truncated", truncated), ("silent", silent))
    ]
    server = await proxy_server(table(routes, pools))
    port = server.bound[0][1]
    try:
        answer = await raw_request(port, b"GET / HTTP/1.1\r\nHost: garbage.test\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 502") and b"invalid response" in answer
        # A truncated answer is not completed by the proxy: the client sees the connection end early.
        answer = await raw_request(port, b"GET / HTTP/1.1\r\nHost: truncated.test\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"only ten..")
        answer = await raw_request(
            port, b"POST / HTTP/1.1\r\nHost: silent.test\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
        )
        assert answer.startswith(b"HTTP/1.1 502") and b"closed before the response" in answer
    finally:
        for backend in (garbage, truncated, silent):
            await backend.stop()
