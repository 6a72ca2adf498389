"""Routes and pools from a real store (Redis), changed under continuous load: zero failed requests,
removed members drained, ejections reported back to the store."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp

from gslb.policy import parse_document
from gslb.store import DocRef, KeySpace, PolicyStore, Store
from gslb.store.factory import redis_client
from proxy.server import Listener, ProxyServer
from proxy.settings import ProxySettings
from proxy.source import OutlierReporter, RouteSource


def docs(pool_members: list[int], *, path: str = "/", algorithm: str = "round_robin") -> list[Any]:
    return [
        parse_document("tenant", {"name": "acme"}),
        parse_document(
            "upstream",
            {
                "tenant": "acme",
                "name": "web",
                "algorithm": algorithm,
                "members": [{"address": "127.0.0.1", "port": port} for port in pool_members],
            },
        ),
        parse_document(
            "route", {"tenant": "acme", "name": "site", "hosts": ["h.test"], "path": path, "upstream": "web"}
        ),
    ]


async def test_hot_reload_under_load_drops_nothing(redis_server: Any, backends: Any) -> None:
    keys = KeySpace(f"proxy{uuid.uuid4().hex[:8]}")
    writer = Store(redis_client(redis_server.url), keys=keys)
    node = Store(redis_client(redis_server.url), keys=keys)
    a, b, c = [await backends(name) for name in ("a", "b", "c")]
    a.delay = 0.05  # requests in flight on A while it is removed
    policy = PolicyStore(writer)
    await policy.apply(docs([a.port, b.port]))
    server = ProxyServer(ProxySettings(tick=0.05), [Listener("127.0.0.1", 0)])
    source = RouteSource(node, server.set_table, block_ms=200)
    await source.start()
    await server.start()
    port = server.bound[0][1]
    failures: list[str] = []
    log: list[tuple[float, str]] = []
    stop = asyncio.Event()

    async def client() -> None:
        async with aiohttp.ClientSession() as session:  # one keep-alive connection per client
            while not stop.is_set():
                try:
                    async with session.get(
                        f"http://127.0.0.1:{port}/x", headers={"Host": "h.test"}
                    ) as response:
                        body = await response.json(content_type=None)
                        if response.status != 200:
                            failures.append(f"{response.status}: {body}")
                        else:
                            log.append((time.monotonic(), body["backend"]))
                except Exception as exc:
                    failures.append(repr(exc))

    try:
        clients = [asyncio.ensure_future(client()) for _ in range(8)]
        await asyncio.sleep(0.3)
        revision = await policy.apply(docs([a.port, b.port, c.port])[1:2])  # add C
        await source.wait_for(revision, 2)
        await asyncio.sleep(0.3)
        revision = await policy.apply(docs([b.port, c.port])[1:2])  # remove A while it is busy
        await source.wait_for(revision, 2)
        removed_at = time.monotonic()
        await asyncio.sleep(0.3)
        revision = await policy.apply(docs([b.port, c.port], algorithm="least_connections")[1:2])
        await source.wait_for(revision, 2)
        revision = await policy.apply(docs([b.port, c.port], path="/x")[2:])  # route change
        await source.wait_for(revision, 2)
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*clients)
    finally:
        await server.close(0)
        await source.stop()
        await writer.close()
        await node.close()
    assert failures == [], failures[:5]
    assert len(log) > 200
    names = {name for _, name in log}
    assert names == {"a", "b", "c"}
    # Requests that started after the removal was applied never went to A (those in flight finished).
    late = [name for at, name in log if at > removed_at + a.delay + 0.05]
    assert late and "a" not in late
    assert not server.upstreams.members.get(f"acme/web/127.0.0.1:{a.port}")


async def test_ejection_is_reported_to_the_store(redis_server: Any) -> None:
    keys = KeySpace(f"proxy{uuid.uuid4().hex[:8]}")
    store = Store(redis_client(redis_server.url), keys=keys)
    reporter = OutlierReporter(store, "node-1")
    reporter.start()
    try:
        before = time.time()
        reporter("acme/web/127.0.0.1:8080", True, "5 consecutive 503 answers", 10.0)
        deadline = time.monotonic() + 2
        doc = None
        while doc is None and time.monotonic() < deadline:
            doc = await store.get(DocRef("outlier", "acme/web/127.0.0.1:8080@node-1"))
            await asyncio.sleep(0.01)
        assert doc is not None and doc.tenant == "acme"
        assert doc.body["state"] == "ejected" and doc.body["node"] == "node-1"
        assert "503" in doc.body["reason"] and doc.body["until"] >= before + 10
    finally:
        await reporter.stop()
        await store.close()


async def test_shutdown_drains_requests_in_flight(backends: Any) -> None:
    from tests.proxy.conftest import members, table

    slow = await backends("slow")
    slow.delay = 0.3
    server = ProxyServer(ProxySettings(tick=0.05), [Listener("127.0.0.1", 0)])
    server.set_table(
        table(
            [{"name": "r", "hosts": ["h.test"], "upstream": "u"}], [{"name": "u", "members": members(slow)}]
        )
    )
    await server.start()
    port = server.bound[0][1]
    async with aiohttp.ClientSession() as session:
        in_flight = asyncio.ensure_future(
            session.get(f"http://127.0.0.1:{port}/", headers={"Host": "h.test"})
        )
        await asyncio.sleep(0.1)
        closing = asyncio.ensure_future(server.close(drain=2.0))
        await asyncio.sleep(0.05)
        try:
            await asyncio.open_connection("127.0.0.1", port)
            raise AssertionError("a closing proxy still accepts connections")
        except ConnectionRefusedError:
            pass
        response = await in_flight
        assert response.status == 200 and (await response.json(content_type=None))["backend"] == "slow"
        started = time.monotonic()
        await closing
        assert time.monotonic() - started < 1.0, "close returns once nothing is in flight"
