"""A node's mirror follows the change feed live, catches up after a stop, reloads after a gap."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from gslb.store import Delete, DocRef, Follower, KeySpace, Put, Store
from gslb.store.factory import redis_client


def ref(i: int) -> DocRef:
    return DocRef("check", f"acme/c{i}")


async def test_follower_applies_changes_live_within_100ms(store_factory: Any) -> None:
    writer = await store_factory()
    follower = Follower(await store_factory(), block_ms=500)
    seen: dict[int, float] = {}
    follower.add_listener(lambda rev, changed: seen.__setitem__(rev, time.perf_counter()))
    await follower.start()
    latencies = []
    try:
        for i in range(200):
            started = time.perf_counter()
            rev = await writer.commit([Put(ref(i), "acme", {"i": i})])
            await follower.wait_for(rev, timeout=2)
            latencies.append(seen.get(rev, time.perf_counter()) - started)
        await writer.commit([Delete(ref(0))])
        await follower.wait_for(201, timeout=2)
    finally:
        await follower.stop()
    assert follower.docs == (await writer.load_all()).docs
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"commit -> follower listener: p50 {latencies[100] * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
    assert p99 < 0.100


async def test_stopped_follower_catches_up_from_its_revision(store_factory: Any) -> None:
    writer = await store_factory()
    follower = Follower(await store_factory(), block_ms=200)
    changes: list[frozenset[str] | None] = []
    follower.add_listener(lambda rev, changed: changes.append(changed))
    await follower.start()
    await writer.commit([Put(ref(1), "acme", {})])
    await follower.wait_for(1, timeout=2)
    await follower.stop()
    for i in range(2, 12):
        await writer.commit([Put(ref(i), "acme", {})])
    await writer.commit([Delete(ref(1))])
    reloads = follower.reloads
    follower._task = asyncio.create_task(follower._run())  # resume without a fresh load
    try:
        await follower.wait_for(12, timeout=2)
    finally:
        await follower.stop()
    assert follower.reloads == reloads, "catching up inside the stream must not reload"
    assert set(follower.docs) == {ref(i).key for i in range(2, 12)}
    assert changes[0] is None and all(c is not None for c in changes[1:])


async def test_follower_behind_the_trim_reloads_fully(store_factory: Any) -> None:
    writer = await store_factory(feed_maxlen=5)
    follower = Follower(await store_factory(feed_maxlen=5), block_ms=200)
    await follower.start()
    await follower.stop()
    for i in range(300):
        await writer.commit([Put(ref(i % 50), "acme", {"i": i})])
    await writer.commit([Delete(ref(3))])
    reloads = follower.reloads
    follower._task = asyncio.create_task(follower._run())
    try:
        await follower.wait_for(301, timeout=3)
    finally:
        await follower.stop()
    assert follower.reloads == reloads + 1
    dump = await writer.load_all()
    assert follower.rev == dump.rev and follower.docs == dump.docs


async def test_reload_marker_makes_followers_reload(store_factory: Any) -> None:
    writer = await store_factory(max_entry_bytes=500)
    follower = Follower(await store_factory(max_entry_bytes=500), block_ms=200)
    await follower.start()
    try:
        reloads = follower.reloads
        await writer.commit([Put(ref(i), "acme", {"pad": "x" * 50}) for i in range(40)])
        await follower.wait_for(1, timeout=2)
        assert follower.reloads == reloads + 1
        assert len(follower.docs) == 40
    finally:
        await follower.stop()


async def test_follower_survives_redis_restart(fresh_redis: Any) -> None:
    keys = KeySpace("restart")
    writer = Store(redis_client(fresh_redis.url), keys=keys)
    follower_store = Store(redis_client(fresh_redis.url), keys=keys)
    follower = Follower(follower_store, block_ms=200)
    await follower.start()
    try:
        await writer.commit([Put(ref(1), "acme", {})])
        await follower.wait_for(1, timeout=2)
        fresh_redis.stop()
        await asyncio.sleep(0.5)  # the follower sees the connection fail and backs off
        fresh_redis.start()  # same port, empty (no persistence): the store restarts from revision 0
        await writer.commit([Put(ref(2), "acme", {})])
        await writer.commit([Put(ref(3), "acme", {})])
        # The data set went back to revision 2 < follower's; it must notice and reload rather than stall.
        await writer.commit([Put(ref(4), "acme", {})])
        deadline = time.monotonic() + 10
        while set(follower.docs) != {ref(2).key, ref(3).key, ref(4).key}:
            assert time.monotonic() < deadline, f"follower stuck at {follower.rev}: {sorted(follower.docs)}"
            await asyncio.sleep(0.05)
    finally:
        await follower.stop()
        await writer.close()
        await follower_store.close()


@pytest.mark.parametrize("count", [3])
async def test_listener_errors_do_not_stop_the_follower(store_factory: Any, count: int) -> None:
    writer = await store_factory()
    follower = Follower(await store_factory(), block_ms=200)

    def broken(rev: int, changed: frozenset[str] | None) -> None:
        raise RuntimeError("consumer bug")

    follower.add_listener(broken)
    await follower.start()
    try:
        for i in range(count):
            await writer.commit([Put(ref(i), "acme", {})])
        await follower.wait_for(count, timeout=2)
    finally:
        await follower.stop()
    assert len(follower.docs) == count
