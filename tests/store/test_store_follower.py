"""A node's mirror follows the change feed live, catches up after a stop, reloads after a gap."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

import pytest

from gslb.store import Delete, DocRef, Follower, KeySpace, Put, Store, StoreUnavailableError
from gslb.store.factory import redis_client


def ref(i: int) -> DocRef:
    return DocRef("check", f"acme/c{i}")


async def converged(follower: Follower, store: Store, timeout: float = 10) -> None:
    """Wait until the follower's mirror equals a fresh load_all."""
    deadline = time.monotonic() + timeout
    while True:
        dump = await store.load_all()
        if follower.rev == dump.rev and dict(follower.docs) == dump.docs:
            return
        assert time.monotonic() < deadline, f"follower stuck at {follower.rev}, store at {dump.rev}"
        await asyncio.sleep(0.02)


async def until(condition: Any, what: str, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.02)


async def test_follower_applies_changes_live_within_100ms(backend: Any) -> None:
    writer = await backend.store()
    follower = Follower(await backend.store(), block_ms=1000)
    heard: dict[int, tuple[float, frozenset[str] | None]] = {}

    async def listener(rev: int, changed: frozenset[str] | None) -> None:
        heard[rev] = (time.perf_counter(), changed)

    follower.add_listener(listener)
    await follower.start()
    assert heard == {0: (heard[0][0], None)}  # the first load is announced as a full reload
    latencies = []
    try:
        for i in range(200):
            started = time.perf_counter()
            rev = await writer.commit([Put(ref(i), "acme", {"i": i}), Put(ref(i + 1000), "globex", {})])
            await follower.wait_for(rev, timeout=2)
            latencies.append(heard[rev][0] - started)
            assert heard[rev][1] == {ref(i).key, ref(i + 1000).key}
        rev = await writer.commit([Delete(ref(0))])
        await follower.wait_for(rev, timeout=2)
        assert heard[rev][1] == {ref(0).key}
    finally:
        await follower.stop()
    dump = await writer.load_all()
    assert follower.rev == dump.rev and dict(follower.docs) == dump.docs
    assert follower.reloads == 1
    p50 = statistics.median(latencies)
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(
        f"\n[{backend.name}] commit -> follower listener over {len(latencies)} commits: "
        f"p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, max {max(latencies) * 1000:.2f} ms"
    )
    assert p99 < 0.100


async def test_stopped_follower_catches_up_from_its_revision(backend: Any) -> None:
    writer = await backend.store()
    follower = Follower(await backend.store(), block_ms=200)
    changes: list[frozenset[str] | None] = []
    follower.add_listener(lambda rev, changed: changes.append(changed))
    await follower.start()
    await writer.commit([Put(ref(1), "acme", {})])
    await follower.wait_for(1, timeout=2)
    await follower.stop()
    for i in range(2, 12):
        await writer.commit([Put(ref(i), "acme", {})])
    await writer.commit([Delete(ref(1))])
    assert follower.rev == 1  # stopped means stopped
    await follower.start()  # resumes from revision 1 through the feed
    try:
        await follower.wait_for(12, timeout=2)
    finally:
        await follower.stop()
    assert follower.reloads == 1, "catching up inside the feed must not reload"
    assert set(follower.docs) == {ref(i).key for i in range(2, 12)}
    assert changes[0] is None and all(c is not None for c in changes[1:])
    await converged(follower, writer)


async def test_follower_behind_the_trim_reloads_fully(backend: Any) -> None:
    writer = await backend.store(feed_maxlen=5)
    follower = Follower(await backend.store(feed_maxlen=5), block_ms=200)
    await follower.start()
    await follower.stop()
    for i in range(300):
        await writer.commit([Put(ref(i % 50), "acme", {"i": i}), Put(ref(1000 + i), "acme", {})])
    await writer.commit([Delete(ref(3))])
    await follower.start()
    try:
        await follower.wait_for(301, timeout=3)
        assert follower.reloads == 2  # the first load, and one because revision 1 was trimmed away
        dump = await writer.load_all()
        assert follower.rev == dump.rev and dict(follower.docs) == dump.docs
        # ...and it keeps following incrementally afterwards.
        await writer.commit([Delete(ref(4))])
        await follower.wait_for(302, timeout=2)
        assert follower.reloads == 2 and ref(4).key not in follower.docs
    finally:
        await follower.stop()


async def test_reload_marker_makes_followers_reload(backend: Any) -> None:
    writer = await backend.store(max_entry_bytes=500)
    follower = Follower(await backend.store(max_entry_bytes=500), block_ms=200)
    changes: list[frozenset[str] | None] = []
    follower.add_listener(lambda rev, changed: changes.append(changed))
    await follower.start()
    try:
        await writer.commit([Put(ref(i), "acme", {"pad": "x" * 50}) for i in range(40)])
        await follower.wait_for(1, timeout=2)
        assert follower.reloads == 2 and changes == [None, None]
        assert len(follower.docs) == 40
        await writer.commit([Delete(ref(0))])
        await follower.wait_for(2, timeout=2)
        assert changes[-1] == {ref(0).key} and len(follower.docs) == 39
    finally:
        await follower.stop()


async def test_listener_errors_are_logged_and_do_not_stop_the_follower(
    backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    writer = await backend.store()
    follower = Follower(await backend.store(), block_ms=200)
    good: list[int] = []

    def broken(rev: int, changed: frozenset[str] | None) -> None:
        raise RuntimeError("consumer bug")

    follower.add_listener(broken)
    follower.add_listener(lambda rev, changed: good.append(rev))
    await follower.start()
    try:
        for i in range(3):
            await writer.commit([Put(ref(i), "acme", {})])
        await follower.wait_for(3, timeout=2)
    finally:
        await follower.stop()
    assert len(follower.docs) == 3 and good[-1] == 3
    assert "consumer bug" in caplog.text and "listener" in caplog.text


async def test_a_stop_that_interrupts_listeners_makes_them_recompute_on_start(backend: Any) -> None:
    writer = await backend.store()
    follower = Follower(await backend.store(), block_ms=200)
    heard: list[tuple[int, frozenset[str] | None]] = []
    entered = asyncio.Event()

    async def slow(rev: int, changed: frozenset[str] | None) -> None:
        if rev == 1 and not entered.is_set():
            entered.set()
            await asyncio.sleep(10)  # interrupted by stop()
        heard.append((rev, changed))

    follower.add_listener(slow)
    await follower.start()
    await writer.commit([Put(ref(1), "acme", {})])
    await asyncio.wait_for(entered.wait(), 2)
    await follower.stop()
    assert follower.rev == 1 and heard == [(0, None)]
    await follower.start()
    try:
        assert heard[-1] == (1, None), "the interrupted batch is announced again, as a full reload"
        await writer.commit([Put(ref(2), "acme", {})])
        await follower.wait_for(2, timeout=2)
        assert heard[-1] == (2, {ref(2).key})
    finally:
        await follower.stop()


async def test_stop_is_prompt_and_wait_for_times_out(backend: Any) -> None:
    follower = Follower(await backend.store(), block_ms=1000)
    for delay in (0, 0.001, 0.01, 0.05, 0.2):
        await follower.start()
        await asyncio.sleep(delay)
        started = time.perf_counter()
        await follower.stop()
        assert time.perf_counter() - started < 0.3, "stop must not wait out a blocking read"
    with pytest.raises(TimeoutError, match="at revision 0 and did not reach 5"):
        await follower.wait_for(5, timeout=0.05)


async def saved_keys(store: Store) -> dict[bytes, bytes]:
    """A backup of every key under the store's prefix (DUMP payloads)."""
    keys = [key async for key in store.client.scan_iter(match=f"{store.keys.prefix}:*")]
    saved = {}
    for key in keys:
        payload = await store.client.dump(key)
        assert payload is not None
        saved[key] = payload
    return saved


async def restore_keys(store: Store, saved: dict[bytes, bytes]) -> None:
    """Put the prefix back to the backup, as a Redis that lost its latest writes would be."""
    current = [key async for key in store.client.scan_iter(match=f"{store.keys.prefix}:*")]
    await store.client.delete(*current)
    for key, payload in saved.items():
        await store.client.restore(key, 0, payload)


@pytest.mark.parametrize("recommits", [2, 4], ids=["same-revision", "past-the-follower"])
async def test_follower_notices_history_rewritten_under_it(redis_server: Any, recommits: int) -> None:
    # Redis with AOF everysec or RDB snapshots can lose its last acknowledged writes in a crash;
    # new commits then reuse those revisions. Only the commit chain tells the histories apart.
    keys = KeySpace(f"h{uuid.uuid4().hex[:10]}")
    writer = Store(redis_client(redis_server.url), keys=keys)
    node = Store(redis_client(redis_server.url), keys=keys)
    follower = Follower(node, block_ms=100)
    await follower.start()
    try:
        for i in range(1, 4):
            await writer.commit([Put(ref(i), "acme", {})])
        backup = await saved_keys(writer)
        await writer.commit([Put(ref(4), "acme", {})])
        await writer.commit([Delete(ref(1))])
        await follower.wait_for(5, timeout=2)
        # Stopped, so it cannot see the revision go back while the restore happens: all it can see
        # afterwards is a head at or past its own revision.
        await follower.stop()
        reloads = follower.reloads
        await restore_keys(writer, backup)  # revisions 4 and 5 are lost
        for i in range(recommits):
            await writer.commit([Put(ref(10 + i), "acme", {})])
        await follower.start()
        await converged(follower, writer)
        assert follower.reloads == reloads + 1
        assert ref(1).key in follower.docs and ref(4).key not in follower.docs
    finally:
        await follower.stop()
        await writer.close()
        await node.close()


async def test_follower_survives_a_redis_restart_that_lost_the_data(private_redis: Any) -> None:
    keys = KeySpace("restart")
    writer = Store(redis_client(private_redis.url), keys=keys)
    node = Store(redis_client(private_redis.url), keys=keys)
    follower = Follower(node, block_ms=200)
    changes: list[frozenset[str] | None] = []
    follower.add_listener(lambda rev, changed: changes.append(changed))
    await follower.start()
    try:
        await writer.commit([Put(ref(1), "acme", {})])
        await writer.commit([Put(ref(2), "acme", {})])
        await follower.wait_for(2, timeout=2)
        private_redis.kill()
        with pytest.raises(StoreUnavailableError, match=rf"127\.0\.0\.1:{private_redis.port}"):
            await writer.commit([Put(ref(9), "acme", {})])
        await until(lambda: not follower.connected, "the follower notices the outage")
        assert follower.rev == 2 and len(follower.docs) == 2  # still serving what it had
        private_redis.start()  # same port, no persistence: an empty data set at revision 0
        await writer.commit([Put(ref(3), "acme", {})])
        await writer.commit([Put(ref(4), "acme", {})])  # revision 2 again, but another world
        await converged(follower, writer)
        await until(lambda: follower.connected, "the follower reports itself connected again")
    finally:
        await follower.stop()
        await writer.close()
        await node.close()
    assert set(follower.docs) == {ref(3).key, ref(4).key}
    assert changes.count(None) >= 2, "the new data set must have been loaded in full"


async def test_follower_catches_up_from_the_feed_after_a_persistent_redis_restart(
    persistent_redis: Any,
) -> None:
    keys = KeySpace("restart")
    writer = Store(redis_client(persistent_redis.url), keys=keys)
    node = Store(redis_client(persistent_redis.url), keys=keys)
    follower = Follower(node, block_ms=200)
    await follower.start()
    try:
        for i in range(3):
            await writer.commit([Put(ref(i), "acme", {})])
        await follower.wait_for(3, timeout=2)
        persistent_redis.kill()
        await until(lambda: not follower.connected, "the follower notices the outage")
        persistent_redis.start()  # the AOF brings back every acknowledged commit
        await writer.commit([Delete(ref(0))])
        await writer.commit([Put(ref(5), "acme", {})])
        await follower.wait_for(5, timeout=10)
        await converged(follower, writer)
        await until(lambda: follower.connected, "the follower reports itself connected again")
    finally:
        await follower.stop()
        await writer.close()
        await node.close()
    assert follower.reloads == 1, "the same data set came back: catching up from the feed suffices"


async def test_a_follower_keeps_only_what_it_is_told_to(backend: Any) -> None:
    """`keep`: the mirror holds the documents it asks for, at load and as they change; listeners
    still hear of every key; a document that stops qualifying leaves the mirror."""
    writer = await backend.store()
    static = DocRef("rrset", "example.com./www/A")
    dynamic = DocRef("rrset", "example.com./app/A")
    await writer.commit(
        [
            Put(ref(1), "acme", {"i": 1}),
            Put(static, "acme", {"values": ["192.0.2.1"]}),
            Put(dynamic, "acme", {"dynamic": {"pools": {}}}),
        ]
    )
    heard: list[frozenset[str] | None] = []
    follower = Follower(
        await backend.store(),
        block_ms=100,
        keep=lambda doc: doc.ref.kind != "rrset" or "dynamic" in doc.body,
    )
    follower.add_listener(lambda rev, changed: heard.append(changed))
    await follower.start()
    try:
        assert set(follower.docs) == {ref(1).key, dynamic.key}
        rev = await writer.commit(
            [Put(dynamic, "acme", {"values": ["192.0.2.9"]}), Put(static, "acme", {"dynamic": {}})]
        )
        await follower.wait_for(rev, timeout=2)
        assert heard[-1] == {dynamic.key, static.key}
        assert set(follower.docs) == {ref(1).key, static.key}  # the two swapped places
        assert follower.docs[static.key].body == {"dynamic": {}}
    finally:
        await follower.stop()
