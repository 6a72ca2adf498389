"""WebSocket upgrades pass through: the 101 answer, then bytes both ways until either side closes."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from tests.proxy.conftest import members, table


async def echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type == WSMsgType.TEXT:
            await ws.send_str(f"echo {message.data} via {request.headers.get('X-Forwarded-For')}")
        elif message.type == WSMsgType.BINARY:
            await ws.send_bytes(message.data[::-1])
    return ws


async def test_websocket_echo_through_the_proxy(backends: Any, proxy_server: Any) -> None:
    backend = await backends("ws", extra=lambda app: app.router.add_get("/ws", echo))
    routes = [
        {"name": "r", "hosts": ["h.test"], "upstream": "u"},
        {"name": "nows", "hosts": ["plain.test"], "upstream": "u", "websocket": False},
    ]
    server = await proxy_server(table(routes, [{"name": "u", "members": members(backend)}]))
    port = server.bound[0][1]
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://127.0.0.1:{port}/ws", headers={"Host": "h.test"}) as ws:
            for index in range(20):
                await ws.send_str(f"hello {index}")
                assert (await ws.receive_str()) == f"echo hello {index} via 127.0.0.1"
            big = bytes(range(256)) * 4096  # 1 MiB in one frame
            await ws.send_bytes(big)
            assert await ws.receive_bytes() == big[::-1]
            # A reload that removes the route and its pool leaves the open WebSocket alone.
            server.set_table(table([], []))
            await ws.send_str("after reload")
            assert (await ws.receive_str()) == "echo after reload via 127.0.0.1"
            server.set_table(table(routes, [{"name": "u", "members": members(backend)}]))
            await ws.close()
        # The proxy keeps serving plain requests afterwards, and refuses upgrades where disabled.
        async with session.get(f"http://127.0.0.1:{port}/", headers={"Host": "h.test"}) as response:
            assert response.status == 200
        try:
            async with session.ws_connect(f"http://127.0.0.1:{port}/ws", headers={"Host": "plain.test"}):
                raise AssertionError("the upgrade should have been refused")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 400
    assert server.ctx is not None
    for _ in range(50):  # the tunnel's sockets are closed once the client closed
        if not any(conn.tunnel for conn in server.ctx.connections):
            break
        await asyncio.sleep(0.02)
    assert not any(conn.tunnel for conn in server.ctx.connections)


async def test_a_silent_websocket_is_closed_after_its_tunnel_idle_timeout(
    backends: Any, proxy_server: Any
) -> None:
    backend = await backends("ws", extra=lambda app: app.router.add_get("/ws", echo))
    routes = [{"name": "r", "hosts": ["h.test"], "upstream": "u", "timeouts": {"tunnel_idle": 0.4}}]
    server = await proxy_server(table(routes, [{"name": "u", "members": members(backend)}]))
    port = server.bound[0][1]
    loop = asyncio.get_running_loop()
    url = f"http://127.0.0.1:{port}/ws"
    async with aiohttp.ClientSession() as session, session.ws_connect(url, headers={"Host": "h.test"}) as ws:
        # Traffic every 0.15 s keeps it open well past the timeout...
        for index in range(8):
            await asyncio.sleep(0.15)
            await ws.send_str(f"ping {index}")
            assert (await ws.receive_str()).startswith(f"echo ping {index}")
        # ...silence closes it (within a sweep tick of 0.05 s): the proxy cuts both sides.
        silent_since = loop.time()
        message = await ws.receive(timeout=5)
        closed_after = loop.time() - silent_since
        assert message.type in (WSMsgType.CLOSED, WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR)
        assert 0.35 <= closed_after < 2.0, closed_after
    assert server.ctx is not None
    for _ in range(50):
        if not any(conn.tunnel for conn in server.ctx.connections):
            break
        await asyncio.sleep(0.02)
    assert not any(conn.tunnel for conn in server.ctx.connections)
