"""Loading a large store in pages: the result is exactly the store at one revision, even when
writes land between the pages."""

from __future__ import annotations

from typing import Any

import pytest

import gslb.store.store as store_module
from gslb.store import DocRef, Put, Store
from gslb.store.types import Delete


def put(name: str, value: int) -> Put:
    return Put(DocRef("rrset", name), "acme", {"value": value})


async def filled(store: Store, count: int) -> None:
    await store.commit([put(f"d{index:03d}", index) for index in range(count)])


def bodies(dump: Any) -> dict[str, dict[str, Any]]:
    return {key: doc.body for key, doc in dump.docs.items()}


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "LOAD_PAGE", 7)


# Redis answers a small hash (listpack-encoded, up to 512 fields) in one HSCAN page whatever the
# COUNT: the tests use more documents than that so the load really is paged.
DOCS = 600


def write_during_the_scan(store: Store, writes: list[Any]) -> list[int]:
    """Make the store's first HSCAN page commit `writes` (one commit each) before returning.

    Returns the cursor of every HSCAN call, as it is made.
    """
    client = store.client
    original = client.hscan
    calls: list[int] = []

    async def hscan(name: Any, cursor: int = 0, *args: Any, **kwargs: Any) -> Any:
        result = await original(name, cursor, *args, **kwargs)
        calls.append(cursor)
        if len(calls) == 1:
            for ops in writes:
                await store.commit(ops)
        return result

    client.hscan = hscan  # type: ignore[method-assign]
    return calls


async def test_paged_load_equals_the_atomic_load(backend: Any, small_pages: None) -> None:
    store = await backend.store()
    await filled(store, DOCS)
    paged = await store.load_all()
    atomic = await store._load_atomic()
    assert paged.rev == atomic.rev and paged.commit_id == atomic.commit_id
    assert bodies(paged) == bodies(atomic) and len(paged.docs) == DOCS


async def test_writes_between_pages_are_replayed_from_the_feed(backend: Any, small_pages: None) -> None:
    store = await backend.store()
    await filled(store, DOCS)
    calls = write_during_the_scan(
        store,
        [
            [put("d001", 1001), put("new1", 1)],  # changed and created mid-scan
            [Delete(DocRef("rrset", "d030")), Delete(DocRef("rrset", "d002"))],  # deleted mid-scan
            [put("d599", 59900)],
        ],
    )
    dump = await store.load_all()
    assert len(calls) > 1, "the load was paged"
    expected = await store._load_atomic()
    assert dump.rev == expected.rev and dump.commit_id == expected.commit_id
    assert bodies(dump) == bodies(expected)
    assert dump.docs["rrset:d001"].body == {"value": 1001} and "rrset:d030" not in dump.docs


async def test_a_commit_too_big_for_the_feed_mid_scan_makes_the_load_start_again(
    backend: Any, small_pages: None
) -> None:
    store = await backend.store(max_entry_bytes=20_000)
    await filled(store, DOCS)  # one commit: a reload marker itself, before the load starts
    huge = [put(f"big{index:03d}", index) for index in range(DOCS)]  # another, mid-scan
    calls = write_during_the_scan(store, [huge])
    dump = await store.load_all()
    assert calls.count(0) == 2, "the first scan was abandoned and a second one made"
    assert len(dump.docs) == 2 * DOCS and dump.rev == (await store.head()).rev
