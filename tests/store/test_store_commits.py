"""Revisions, atomic multi-object commits and optimistic concurrency, on Redis and embedded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gslb.store import ConflictError, Delete, DocRef, Put, StaleRevisionError, Store, StoreError

A = DocRef("zone", "a.example.")
B = DocRef("zone", "b.example.")
C = DocRef("rrset", "a.example./www/A")


def put(ref: DocRef, tenant: str = "acme", **body: Any) -> Put:
    return Put(ref, tenant, {"name": ref.name, **body})


async def stream_length(store: Store) -> int:
    return int(await store.client.xlen(store.keys.changes()))


async def test_revision_increases_by_one_per_commit(store: Store) -> None:
    assert await store.revision() == 0
    assert await store.commit([put(A)]) == 1
    assert await store.commit([put(B), put(C)]) == 2
    assert await store.commit([Delete(A)]) == 3
    dump = await store.load_all()
    assert dump.rev == 3
    assert sorted(dump.docs) == sorted([B.key, C.key])
    assert dump.docs[C.key].rev == 2 and dump.docs[C.key].tenant == "acme"


async def test_conflicting_commit_writes_nothing(store: Store) -> None:
    await store.commit([put(A, v=1)])
    before_docs = await store.load_all()
    before_stream = await stream_length(store)
    with pytest.raises(ConflictError) as excinfo:
        await store.commit([put(B, v=1), put(C, v=1), Put(A, "acme", {"v": 2}, if_rev=7)])
    assert [str(c) for c in excinfo.value.conflicts] == [
        "zone:a.example.: expected revision 7, but it is at revision 1"
    ]
    assert "Reload and retry" in str(excinfo.value)
    after = await store.load_all()
    assert after == before_docs
    assert await stream_length(store) == before_stream
    assert await store.list(tenant="acme") == [before_docs.docs[A.key]]
    assert await store.list(kind="rrset") == []


async def test_if_rev_semantics_and_every_conflict_listed(store: Store) -> None:
    await store.commit([put(A)])
    with pytest.raises(ConflictError) as excinfo:
        await store.commit([Put(A, "acme", {}, if_rev=0), Put(B, "acme", {}, if_rev=1), Delete(C, if_rev=3)])
    assert [(c.key, c.expected, c.actual) for c in excinfo.value.conflicts] == [
        (A.key, 0, 1),
        (B.key, 1, 0),
        (C.key, 3, 0),
    ]
    assert await store.revision() == 1
    assert await store.commit([Put(A, "acme", {"v": 2}, if_rev=1), Put(B, "acme", {}, if_rev=0)]) == 2
    assert await store.commit([Delete(A, if_rev=2)]) == 3


async def test_stale_base_revision(store: Store) -> None:
    await store.commit([put(A)])
    await store.commit([put(B)])
    with pytest.raises(StaleRevisionError, match="moved from revision 1 to 2"):
        await store.commit([put(C)], base_revision=1)
    assert await store.get(C) is None
    assert await store.commit([put(C)], base_revision=2) == 3


async def test_bad_commits_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="at least one operation"):
        await store.commit([])
    with pytest.raises(StoreError, match=r"repeated: zone:a\.example\."):
        await store.commit([put(A), Delete(A)])
    with pytest.raises(StoreError, match="one line"):
        DocRef("zone", "bad\nname")
    with pytest.raises(StoreError, match="lowercase"):
        DocRef("Zone", "x")
    assert await store.revision() == 0


async def test_concurrent_committers_lose_nothing(store_factory: Any) -> None:
    stores = [await store_factory() for _ in range(5)]

    async def writer(index: int, store: Store) -> list[int]:
        revisions = []
        for step in range(20):
            ref = DocRef("check", f"t{index}/c{step}")
            revisions.append(await store.commit([Put(ref, f"t{index}", {"step": step})]))
        return revisions

    results = await asyncio.gather(*(writer(i, s) for i, s in enumerate(stores)))
    all_revisions = sorted(rev for revisions in results for rev in revisions)
    assert all_revisions == list(range(1, 101))
    dump = await stores[0].load_all()
    assert dump.rev == 100 and len(dump.docs) == 100
    entries = await stores[0].changes_since(0, count=1000)
    assert entries is not None and [entry.rev for entry in entries] == list(range(1, 101))


async def test_load_all_is_consistent_under_writes(store_factory: Any) -> None:
    writer_store = await store_factory()
    reader_store = await store_factory()
    await writer_store.commit([Put(DocRef("zone", f"z{i}."), "acme", {"gen": 0}) for i in range(50)])
    stop = asyncio.Event()

    async def writer() -> None:
        generation = 0
        while not stop.is_set():
            generation += 1
            await writer_store.commit(
                [Put(DocRef("zone", f"z{i}."), "acme", {"gen": generation}) for i in range(50)]
            )

    task = asyncio.create_task(writer())
    try:
        for _ in range(30):
            dump = await reader_store.load_all()
            generations = {doc.body["gen"] for doc in dump.docs.values()}
            assert len(generations) == 1, "load_all mixed two revisions"
            assert all(doc.rev == dump.rev for doc in dump.docs.values())
            await asyncio.sleep(0)
    finally:
        stop.set()
        await task


async def test_list_by_kind_and_tenant_follows_moves(store: Store) -> None:
    await store.commit([put(A, "acme"), put(B, "globex"), put(C, "acme")])
    assert [d.ref.key for d in await store.list(tenant="acme")] == [C.key, A.key]
    assert [d.ref.key for d in await store.list(kind="zone", tenant="acme")] == [A.key]
    await store.commit([put(A, "globex")])
    assert [d.ref.key for d in await store.list(tenant="globex")] == [A.key, B.key]
    assert [d.ref.key for d in await store.list(tenant="acme")] == [C.key]
    await store.commit([Delete(C)])
    assert await store.list(tenant="acme") == []
    assert [d.ref.key for d in await store.list()] == [A.key, B.key]


async def test_huge_commit_becomes_reload_marker(store_factory: Any) -> None:
    store = await store_factory(max_entry_bytes=2000)
    await store.commit([put(A)])
    await store.commit(
        [
            Put(DocRef("rrset", f"a.example./n{i}/A"), "acme", {"values": ["192.0.2.1"] * 5})
            for i in range(100)
        ]
    )
    entries = await store.changes_since(1)
    assert entries is not None and len(entries) == 1
    assert entries[0].reload and entries[0].changes == ()
    assert len((await store.load_all()).docs) == 101


async def test_changes_since_reports_trim_gap(store_factory: Any) -> None:
    store = await store_factory(feed_maxlen=5)
    for i in range(300):
        await store.commit([Put(DocRef("check", f"acme/c{i}"), "acme", {})])
    assert await store.changes_since(300) == []
    assert await store.changes_since(0) is None  # revision 1 was trimmed away
    recent = await store.changes_since(299)
    assert recent is not None and [entry.rev for entry in recent] == [300]


async def test_health_votes_are_kept_per_site(store: Store) -> None:
    await store.put_vote("acme/web/192.0.2.1", "site-a", {"up": True, "ts": 1.0})
    await store.put_vote("acme/web/192.0.2.1", "site-b", {"up": False, "ts": 2.0})
    assert await store.get_votes("acme/web/192.0.2.1") == {
        "site-a": {"up": True, "ts": 1.0},
        "site-b": {"up": False, "ts": 2.0},
    }
    assert await store.revision() == 0  # votes are not policy changes
