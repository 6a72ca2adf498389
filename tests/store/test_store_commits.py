"""Revisions, atomic multi-document commits and optimistic concurrency, on Redis and embedded."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import fakeredis
import pytest

from gslb.store import (
    ConflictError,
    Delete,
    DocRef,
    InvalidRequestError,
    KeySpace,
    Put,
    StaleRevisionError,
    Store,
)
from gslb.store.store import text

A = DocRef("zone", "a.example.")
B = DocRef("zone", "b.example.")
C = DocRef("rrset", "a.example./www/A")


def put(ref: DocRef, tenant: str = "acme", **body: Any) -> Put:
    return Put(ref, tenant, {"name": ref.name, **body})


async def observable_state(store: Store) -> tuple[Any, ...]:
    """Everything a failed commit must leave untouched: docs, revision, indexes, the feed."""
    dump = await store.load_all()
    listings = [
        [doc.ref.key for doc in await store.list(**query)]
        for query in ({"tenant": "acme"}, {"tenant": "globex"}, {"kind": "zone"}, {"kind": "rrset"})
    ]
    feed = await store.client.xrange(store.keys.changes())
    return dump, listings, feed


async def test_revisions_increase_by_exactly_one_per_commit(store: Store) -> None:
    assert await store.revision() == 0
    assert await store.commit([put(A)]) == 1
    assert await store.commit([put(B), put(C)]) == 2
    assert await store.commit([Delete(A)]) == 3
    assert await store.commit([Delete(A)]) == 4  # deleting what is gone is not an error
    dump = await store.load_all()
    assert dump.rev == 4
    assert sorted(dump.docs) == sorted([B.key, C.key])
    assert dump.docs[C.key].rev == 2 and dump.docs[C.key].tenant == "acme"
    entries = await store.changes_since(0)
    assert entries is not None and [entry.rev for entry in entries] == [1, 2, 3, 4]
    assert [(c.op, c.ref, c.tenant) for c in entries[2].changes] == [("delete", A, "acme")]
    # Every entry names the commit before it; the head names the last one.
    assert entries[0].parent_id is None and len({entry.commit_id for entry in entries}) == 4
    assert [entry.parent_id for entry in entries[1:]] == [entry.commit_id for entry in entries[:-1]]
    head = await store.head()
    assert (head.rev, head.commit_id) == (4, entries[-1].commit_id)
    assert dump.commit_id == head.commit_id


async def test_get_and_get_many(store: Store) -> None:
    await store.commit([put(A, v=1), put(B, "globex", v=2)], actor="alice")
    doc = await store.get(A)
    assert doc is not None and doc.body == {"name": A.name, "v": 1} and doc.rev == 1 and doc.tenant == "acme"
    assert await store.get(C) is None
    many = await store.get_many([A, B, C, A])
    assert sorted(many) == [A.key, B.key] and many[B.key].tenant == "globex"
    assert await store.get_many([]) == {}
    entries = await store.changes_since(0)
    assert entries is not None and entries[0].actor == "alice"


async def test_a_commit_with_one_conflict_writes_nothing(store: Store) -> None:
    await store.commit([put(A, "acme", v=1)])
    before = await observable_state(store)
    with pytest.raises(ConflictError) as excinfo:
        # The ops before the conflicting one would add docs, move A's tenant and index new kinds.
        await store.commit([put(B, "globex"), put(C), Put(A, "globex", {"v": 2}, if_rev=7)])
    assert [str(c) for c in excinfo.value.conflicts] == [
        "zone:a.example.: expected revision 7, but it is at revision 1"
    ]
    assert "Reload and retry" in str(excinfo.value)
    assert await observable_state(store) == before
    assert await store.revision() == 1


async def test_if_rev_semantics_and_every_conflict_listed(store: Store) -> None:
    await store.commit([put(A)])
    with pytest.raises(ConflictError) as excinfo:
        await store.commit([Put(A, "acme", {}, if_rev=0), Put(B, "acme", {}, if_rev=1), Delete(C, if_rev=3)])
    assert [(c.key, c.expected, c.actual) for c in excinfo.value.conflicts] == [
        (A.key, 0, 1),
        (B.key, 1, 0),
        (C.key, 3, 0),
    ]
    message = str(excinfo.value)
    assert (
        "expected absent, but it is at revision 1" in message
        and "expected revision 1, but it is absent" in message
    )
    assert await store.revision() == 1
    assert await store.commit([Put(A, "acme", {"v": 2}, if_rev=1), Put(B, "acme", {}, if_rev=0)]) == 2
    with pytest.raises(ConflictError):
        await store.commit([Delete(A, if_rev=1)])
    assert await store.commit([Delete(A, if_rev=2), Delete(C, if_rev=0)]) == 3
    assert await store.get(A) is None


async def test_stale_base_revision(store: Store) -> None:
    await store.commit([put(A)])
    await store.commit([put(B)])
    with pytest.raises(StaleRevisionError, match="moved from revision 1 to 2") as excinfo:
        await store.commit([put(C)], base_revision=1)
    assert isinstance(excinfo.value, ConflictError)
    assert (excinfo.value.base, excinfo.value.current) == (1, 2)
    assert await store.get(C) is None and await store.revision() == 2
    assert await store.commit([put(C)], base_revision=2) == 3


async def test_malformed_commits_are_refused_before_anything_is_written(store: Store) -> None:
    with pytest.raises(InvalidRequestError, match="at least one operation"):
        await store.commit([])
    with pytest.raises(InvalidRequestError, match=r"repeated: zone:a\.example\."):
        await store.commit([put(A), Delete(A)])
    with pytest.raises(ValueError, match="not plain JSON"):
        await store.commit([put(B), Put(A, "acme", {"ratio": math.nan})])
    with pytest.raises(InvalidRequestError, match="not plain JSON"):
        await store.commit([Put(A, "acme", {"when": object()})])
    assert await store.revision() == 0
    assert (await store.load_all()).docs == {}


async def test_concurrent_committers_are_gap_free_and_lose_nothing(backend: Any) -> None:
    # On Redis each task has its own client (like separate nodes); the embedded store is one object.
    stores = [await backend.store() for _ in range(20)]
    await run_concurrent_committers(stores)


async def test_concurrent_committers_on_fakeredis_with_separate_clients() -> None:
    # The embedded store serialises commits itself; this checks the shared WATCH/retry code on fakeredis.
    server = fakeredis.FakeServer()
    stores = [Store(fakeredis.FakeAsyncRedis(server=server), keys=KeySpace("fr")) for _ in range(20)]
    try:
        await run_concurrent_committers(stores)
    finally:
        for store in stores:
            await store.close()


async def run_concurrent_committers(stores: list[Store], commits: int = 20) -> None:
    async def writer(index: int, store: Store) -> list[int]:
        revisions = []
        for step in range(commits):
            shared = DocRef("zone", "shared.")  # every writer also touches one hot document
            ops = [
                Put(DocRef("check", f"t{index}/c{step}"), f"t{index}", {"step": step}),
                put(shared, w=index),
            ]
            revisions.append(await store.commit(ops))
        return revisions

    results = await asyncio.gather(*(writer(i, s) for i, s in enumerate(stores)))
    total = len(stores) * commits
    assert sorted(rev for revisions in results for rev in revisions) == list(range(1, total + 1))
    for revisions in results:
        assert revisions == sorted(revisions)
    dump = await stores[0].load_all()
    assert dump.rev == total and len(dump.docs) == total + 1
    entries = await stores[0].changes_since(0, count=total)
    assert entries is not None and [entry.rev for entry in entries] == list(range(1, total + 1))
    assert len(await stores[0].list(kind="check")) == total


async def test_load_all_never_mixes_revisions_under_concurrent_writes(backend: Any) -> None:
    writer_store = await backend.store()
    reader_store = await backend.store()
    refs = [DocRef("zone", f"z{i}.") for i in range(50)]
    await writer_store.commit([Put(ref, "acme", {"gen": 0}) for ref in refs])
    stop = asyncio.Event()

    async def writer() -> int:
        generation = 0
        while not stop.is_set():
            generation += 1
            await writer_store.commit([Put(ref, "acme", {"gen": generation}) for ref in refs])
        return generation

    task = asyncio.create_task(writer())
    try:
        revisions = set()
        for _ in range(40):
            dump = await reader_store.load_all()
            assert len({doc.body["gen"] for doc in dump.docs.values()}) == 1, "load_all mixed two commits"
            assert all(doc.rev == dump.rev for doc in dump.docs.values())
            revisions.add(dump.rev)
            await asyncio.sleep(0.001)
    finally:
        stop.set()
        generations = await task
    assert generations > 5 and len(revisions) > 5, "the reader should have seen the writer progress"


async def test_list_by_kind_and_tenant_follows_tenant_moves(store: Store) -> None:
    await store.commit([put(A, "acme"), put(B, "globex"), put(C, "acme")])
    assert [d.ref.key for d in await store.list(tenant="acme")] == [C.key, A.key]
    assert [d.ref.key for d in await store.list(kind="zone", tenant="acme")] == [A.key]
    assert [d.ref.key for d in await store.list(kind="zone")] == [A.key, B.key]
    await store.commit([put(A, "globex")])  # the move: out of acme's index, into globex's
    assert [d.ref.key for d in await store.list(tenant="globex")] == [A.key, B.key]
    assert [d.ref.key for d in await store.list(tenant="acme")] == [C.key]
    await store.commit([Delete(C), Delete(B)])
    assert await store.list(tenant="acme") == []
    assert await store.list(kind="rrset") == []
    assert [d.ref.key for d in await store.list()] == [A.key]
    assert await store.list(kind="nothing") == []


async def test_one_commit_that_moves_deletes_and_creates_keeps_every_index_right(store: Store) -> None:
    refs = [DocRef("zone", f"z{i}.") for i in range(4)] + [DocRef("rrset", f"z{i}./www/A") for i in range(4)]
    await store.commit([put(ref, "acme") for ref in refs])
    await store.commit(
        [
            put(refs[0], "globex"),  # move
            put(refs[4], "globex"),  # move, other kind
            Delete(refs[1]),
            Delete(refs[5]),
            put(refs[2], "acme", v=2),  # rewrite in place
            put(DocRef("zone", "new."), "globex"),
            put(DocRef("check", "globex/c"), "globex"),
        ]
    )
    dump = await store.load_all()
    expected: dict[tuple[str | None, str | None], list[str]] = {}
    for doc in dump.docs.values():
        for query in ((doc.ref.kind, None), (None, doc.tenant), (doc.ref.kind, doc.tenant)):
            expected.setdefault(query, []).append(doc.ref.key)
    for (kind, tenant), keys in expected.items():
        assert [d.ref.key for d in await store.list(kind=kind, tenant=tenant)] == sorted(keys)
    assert len(await store.list(tenant="acme")) == 4 and len(await store.list(tenant="globex")) == 4
    for kind in ("zone", "rrset", "check"):  # no index holds a key that is gone
        members = {text(m) for m in await store.client.smembers(store.keys.kind_index(kind))}
        assert members == {key for key in dump.docs if key.startswith(f"{kind}:")}


async def test_huge_commit_goes_to_the_feed_as_a_reload_marker(backend: Any) -> None:
    store = await backend.store(max_entry_bytes=4000)
    await store.commit([put(A)])
    bulk = [
        Put(DocRef("rrset", f"a.example./n{i}/A"), "acme", {"values": ["192.0.2.1"] * 5}) for i in range(200)
    ]
    assert await store.commit(bulk, actor="import") == 2
    await store.commit([put(B)])
    entries = await store.changes_since(1)
    assert entries is not None and [entry.rev for entry in entries] == [2, 3]
    assert entries[0].reload and entries[0].changes == () and entries[0].actor == "import"
    assert not entries[1].reload and entries[1].changes[0].ref == B
    feed_bytes = sum(len(fields[b"entry"]) for _, fields in await store.client.xrange(store.keys.changes()))
    assert feed_bytes < 2000
    assert len((await store.load_all()).docs) == 202


async def test_changes_since_reports_trimmed_feed_as_none(backend: Any) -> None:
    store = await backend.store(feed_maxlen=5)
    assert await store.changes_since(0) == []  # an empty store is not a gap
    for i in range(300):
        await store.commit([Put(DocRef("check", f"acme/c{i}"), "acme", {})])
    assert await store.client.xlen(store.keys.changes()) < 300  # approximate trimming happened
    assert await store.changes_since(300) == []
    assert await store.changes_since(0) is None  # revision 1 was trimmed away: reload
    assert await store.changes_since(400) is None  # ahead of the store: another data set, reload
    recent = await store.changes_since(297, count=2)
    assert recent is not None and [entry.rev for entry in recent] == [298, 299]


async def test_health_votes_are_kept_per_site_off_the_feed(store: Store) -> None:
    await store.put_vote("acme/web/192.0.2.1", "site-a", {"up": True, "ts": 1.0})
    await store.put_vote("acme/web/192.0.2.1", "site-b", {"up": False, "ts": 2.0})
    await store.put_vote("acme/web/192.0.2.1", "site-a", {"up": False, "ts": 3.0})
    assert await store.get_votes("acme/web/192.0.2.1") == {
        "site-a": {"up": False, "ts": 3.0},
        "site-b": {"up": False, "ts": 2.0},
    }
    assert await store.get_votes("acme/other") == {}
    assert await store.revision() == 0 and await store.changes_since(0) == []
