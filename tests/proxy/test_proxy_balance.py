"""Load-balancing algorithms, affinity, retries with a budget, outlier ejection, circuit breaking and
rate limiting, each against real backends on loopback."""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

import aiohttp

from tests.conftest import free_port
from tests.proxy.conftest import members, table


async def fetch(
    session: aiohttp.ClientSession, port: int, path: str = "/", method: str = "GET", **kwargs: Any
) -> tuple[int, str, Any]:
    headers = {"Host": "h.test", **kwargs.pop("headers", {})}
    async with session.request(
        method, f"http://127.0.0.1:{port}{path}", headers=headers, **kwargs
    ) as response:
        body = await response.read()
        try:
            name = (await response.json(content_type=None))["backend"]
        except (ValueError, TypeError, KeyError):
            name = body.decode()
        return response.status, name, response


def route(**extra: Any) -> list[dict[str, Any]]:
    return [{"name": "r", "hosts": ["h.test"], "upstream": "u", **extra}]


async def start(
    backends: Any, proxy_server: Any, count: int, pool: dict[str, Any], **route_extra: Any
) -> Any:
    started = [await backends(f"b{i}") for i in range(count)]
    pool = {"name": "u", "members": members(*started), **pool}
    server = await proxy_server(table(route(**route_extra), [pool]))
    return started, server, server.bound[0][1]


async def test_round_robin_and_weighted(backends: Any, proxy_server: Any) -> None:
    _, _, port = await start(backends, proxy_server, 3, {})
    async with aiohttp.ClientSession() as session:
        seen = collections.Counter([(await fetch(session, port))[1] for _ in range(30)])
    assert seen == {"b0": 10, "b1": 10, "b2": 10}

    heavy, light = await backends("heavy"), await backends("light")
    pool = {"name": "u", "algorithm": "weighted", "members": [*members(heavy, weight=3), *members(light)]}
    server = await proxy_server(table(route(), [pool]))
    async with aiohttp.ClientSession() as session:
        order = [(await fetch(session, server.bound[0][1]))[1] for _ in range(40)]
    assert collections.Counter(order) == {"heavy": 30, "light": 10}
    assert "light" in order[:4], "smooth weighting interleaves instead of sending bursts"


async def test_least_connections_avoids_the_busy_member(backends: Any, proxy_server: Any) -> None:
    (slow, _fast), _, port = await start(backends, proxy_server, 2, {"algorithm": "least_connections"})
    slow.delay = 0.5
    async with aiohttp.ClientSession() as session:
        long = asyncio.ensure_future(fetch(session, port, "/long"))
        await asyncio.sleep(0.1)
        others = [(await fetch(session, port))[1] for _ in range(5)]
        assert (await long)[1] == "b0"
    assert others == ["b1"] * 5


async def test_consistent_hash_on_header_cookie_and_address(backends: Any, proxy_server: Any) -> None:
    started, server, port = await start(
        backends, proxy_server, 4, {"algorithm": "consistent_hash", "hash_on": "header:X-User"}
    )
    async with aiohttp.ClientSession() as session:
        owner = {}
        for user in range(40):
            names = {(await fetch(session, port, headers={"X-User": f"u{user}"}))[1] for _ in range(3)}
            assert len(names) == 1, "one key, one member"
            owner[user] = names.pop()
        assert len(set(owner.values())) >= 3, "keys spread over the members"
        # Eject one member (as passive health would): only its keys move.
        victim = owner[0]
        index = [b.name for b in started].index(victim)
        member = server.upstreams.pools["acme/u"].members[index]
        member.outlier.ejected_until = server.ctx.loop.time() + 60
        for user in range(40):
            now_at = (await fetch(session, port, headers={"X-User": f"u{user}"}))[1]
            if owner[user] == victim:
                assert now_at != victim
            else:
                assert now_at == owner[user], "keys of healthy members stay where they were"

    _, _, cookie_port = await start(
        backends, proxy_server, 3, {"algorithm": "consistent_hash", "hash_on": "cookie:sid"}
    )
    _, _, address_port = await start(
        backends, proxy_server, 3, {"algorithm": "consistent_hash", "hash_on": "client_address"}
    )
    async with aiohttp.ClientSession() as session:
        by_cookie = {
            (await fetch(session, cookie_port, headers={"Cookie": "a=1; sid=abc"}))[1] for _ in range(6)
        }
        by_address = {(await fetch(session, address_port))[1] for _ in range(6)}
    assert len(by_cookie) == 1 and len(by_address) == 1


async def test_sticky_cookie_pins_a_client(backends: Any, proxy_server: Any) -> None:
    _, _, port = await start(backends, proxy_server, 3, {"sticky_cookie": "gslb_aff"})
    async with aiohttp.ClientSession() as session:
        status, first, response = await fetch(session, port)
        cookie = response.cookies["gslb_aff"].value
        assert status == 200 and cookie
        pinned = {(await fetch(session, port, headers={"Cookie": f"gslb_aff={cookie}"}))[1] for _ in range(6)}
        assert pinned == {first}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        spread = {(await fetch(session, port))[1] for _ in range(6)}
    assert len(spread) == 3, "without the cookie, round robin"


async def test_retries_on_connect_failure_and_idempotent_5xx(backends: Any, proxy_server: Any) -> None:
    good = await backends("good")
    dead = {"address": "127.0.0.1", "port": free_port()}  # nothing listens there
    pool = {"name": "u", "members": [dead, *members(good)], "outlier": {"consecutive_errors": 1000}}
    server = await proxy_server(table(route(), [pool]))
    port = server.bound[0][1]
    async with aiohttp.ClientSession() as session:
        results = [await fetch(session, port, method=method, data=b"x" if method == "POST" else None)
                   for method in ("GET", "POST") * 5]  # fmt: skip
    assert all(status == 200 and name == "good" for status, name, _ in results), (
        "connect failures are retried"
    )
    assert server.metrics.retries >= 5

    failing, healthy = await backends("failing", status=503), await backends("healthy")
    pool = {"name": "u", "members": members(failing, healthy), "outlier": {"consecutive_5xx": 1000}}
    server = await proxy_server(table(route(), [pool]))
    port = server.bound[0][1]
    async with aiohttp.ClientSession() as session:
        gets = [await fetch(session, port) for _ in range(4)]
        posts = [await fetch(session, port, method="POST", data=b"x") for _ in range(4)]
    assert all(status == 200 for status, _, _ in gets), "an idempotent request moves on after a 503"
    assert sorted(status for status, _, _ in posts) == [200, 200, 503, 503], "POST is not retried after a 503"


async def test_retry_budget_stops_retry_storms(backends: Any, proxy_server: Any) -> None:
    good = await backends("good")
    dead = {"address": "127.0.0.1", "port": free_port()}
    pool = {"name": "u", "members": [dead, *members(good)], "outlier": {"consecutive_errors": 1000}}
    server = await proxy_server(table(route(retries={"budget_percent": 0, "min_per_second": 0.2}), [pool]))
    port = server.bound[0][1]
    async with aiohttp.ClientSession() as session:
        statuses = collections.Counter([(await fetch(session, port))[0] for _ in range(10)])
    # The budget (0.2/s over a 10 s window: 2 retries) rescues the first two requests that meet the
    # dead member; after that each one that meets it fails (round robin alternates: 4 of the rest).
    assert statuses == {200: 6, 502: 4}, statuses
    assert server.metrics.retries == 2


async def test_outlier_ejection_and_return(backends: Any, proxy_server: Any) -> None:
    reports: list[tuple[str, bool, str, float]] = []
    bad, good = await backends("bad", status=500), await backends("good")
    pool = {
        "name": "u",
        "members": members(bad, good),
        "outlier": {"consecutive_5xx": 3, "base_ejection": 0.5, "max_ejected_percent": 50},
    }
    server = await proxy_server(table(route(retries={"attempts": 0}), [pool]))
    server.upstreams.reporter = lambda *report: reports.append(report)
    port = server.bound[0][1]
    async with aiohttp.ClientSession() as session:
        first = [(await fetch(session, port))[0] for _ in range(6)]
        assert first.count(500) == 3, first
        assert [(await fetch(session, port))[1] for _ in range(6)] == ["good"] * 6
        assert reports and reports[0][0].endswith(f"127.0.0.1:{bad.port}") and reports[0][1]
        bad.status = 200
        await asyncio.sleep(0.6)
        assert "bad" in {(await fetch(session, port))[1] for _ in range(4)}, "back after the ejection time"
    assert server.upstreams.ejections == 1


async def test_store_health_state_is_obeyed(backends: Any, proxy_server: Any) -> None:
    # Health states are per check and address: the two members get distinct loopback addresses.
    down, up = await backends("down", host="127.0.0.1"), await backends("up", host="127.0.0.2")
    pool = {"name": "u", "members": members(down, up, health_check="web")}
    server = await proxy_server(table(route(), [pool], {"acme/web/127.0.0.1": True}))
    async with aiohttp.ClientSession() as session:
        assert {(await fetch(session, server.bound[0][1]))[1] for _ in range(4)} == {"down", "up"}
    server.set_table(table(route(), [pool], {"acme/web/127.0.0.1": False}))
    async with aiohttp.ClientSession() as session:
        assert {(await fetch(session, server.bound[0][1]))[1] for _ in range(4)} == {"up"}
    # Every member down: tried all the same (panic mode, as DNS fails open) rather than refusing all.
    server.set_table(table(route(), [pool], {"acme/web/127.0.0.1": False, "acme/web/127.0.0.2": False}))
    async with aiohttp.ClientSession() as session:
        assert {(await fetch(session, server.bound[0][1]))[0] for _ in range(4)} == {200}


async def test_circuit_breaker_limits_connections_and_pending(backends: Any, proxy_server: Any) -> None:
    (slow,), _, port = await start(backends, proxy_server, 1, {"max_connections": 1, "max_pending": 0})
    slow.delay = 0.3
    async with aiohttp.ClientSession() as session:
        statuses = sorted(s for s, _, _ in await asyncio.gather(*(fetch(session, port) for _ in range(3))))
    assert statuses == [200, 503, 503]

    (queued,), _, port = await start(backends, proxy_server, 1, {"max_connections": 1, "max_pending": 10})
    queued.delay = 0.05
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        statuses = [s for s, _, _ in await asyncio.gather(*(fetch(session, port) for _ in range(4)))]
    assert statuses == [200] * 4
    assert time.monotonic() - started >= 0.2, "served one at a time over one upstream connection"
    assert len({r["peer"] for r in queued.requests}) == 1


async def test_rate_limit_answers_429(backends: Any, proxy_server: Any) -> None:
    _, _, port = await start(
        backends,
        proxy_server,
        1,
        {},
        rate_limit={"requests_per_second": 2, "burst": 3, "key": "client_address"},
    )
    async with aiohttp.ClientSession() as session:
        statuses = [(await fetch(session, port))[0] for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        async with session.get(f"http://127.0.0.1:{port}/", headers={"Host": "h.test"}) as response:
            assert response.status == 429 and response.headers["Retry-After"] == "1"
        await asyncio.sleep(0.6)
        assert (await fetch(session, port))[0] == 200, "tokens come back at the configured rate"
