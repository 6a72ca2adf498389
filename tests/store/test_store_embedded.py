"""The embedded store: a restart loses nothing; damaged files are handled as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from gslb.store import (
    Delete,
    DocRef,
    EmbeddedStoreError,
    Put,
    StoreUnavailableError,
    open_embedded,
    open_store,
)
from tests.conftest import free_port


def ref(i: int) -> DocRef:
    return DocRef("zone", f"z{i}.example.")


async def test_restart_loses_nothing(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path)
    for i in range(10):
        await store.commit([Put(ref(i), "acme", {"i": i})])
    await store.commit([Delete(ref(3)), Put(ref(4), "globex", {"moved": True})])
    before = await store.load_all()
    await store.close()
    assert before.epoch is not None

    reopened = await open_embedded(tmp_path)
    try:
        after = await reopened.load_all()
        assert after.rev == before.rev == 11
        assert after.docs == before.docs
        assert after.epoch == before.epoch, "a restart keeps the data set's identity"
        assert [d.ref.key for d in await reopened.list(tenant="globex")] == [ref(4).key]
        assert await reopened.commit([Put(ref(20), "acme", {})]) == 12
        entries = await reopened.changes_since(11)
        assert entries is not None and [e.rev for e in entries] == [12]
    finally:
        await reopened.close()
    # The journal was compacted into the snapshot at open; a third open still sees revision 12.
    third = await open_embedded(tmp_path)
    try:
        assert (await third.revision()) == 12
    finally:
        await third.close()


async def test_torn_last_journal_line_is_dropped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = await open_embedded(tmp_path)
    await store.commit([Put(ref(1), "acme", {})])
    await store.commit([Put(ref(2), "acme", {})])
    await store.close()
    journal = tmp_path / "journal.jsonl"
    with open(journal, "ab") as handle:
        handle.write(b'{"rev": 3, "ts": 1.0, "chan')  # a crash in the middle of appending commit 3
    reopened = await open_embedded(tmp_path)
    try:
        assert await reopened.revision() == 2
        assert "dropping a torn last entry" in caplog.text
    finally:
        await reopened.close()


async def test_corrupt_middle_line_is_refused_with_file_and_line(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path)
    await store.close()
    journal = tmp_path / "journal.jsonl"
    good = (
        b'{"rev":%d,"ts":1.0,"actor":null,"reload":false,'
        b'"changes":[{"op":"put","key":"zone:a.","tenant":"t","body":{}}]}\n'
    )
    journal.write_bytes(good % 1 + b"garbage\n" + good % 3)
    with pytest.raises(EmbeddedStoreError, match=r"journal\.jsonl:2: corrupt journal entry"):
        await open_embedded(tmp_path)
    assert journal.read_bytes().count(b"\n") == 3, "nothing may be deleted"
    # The lock was released by the failed open, so after a repair the store opens.
    journal.write_bytes(good % 1)
    repaired = await open_embedded(tmp_path)
    try:
        assert await repaired.revision() == 1
    finally:
        await repaired.close()


async def test_second_process_is_refused_by_the_lock(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path)
    try:
        with pytest.raises(EmbeddedStoreError, match=r"in use by another gslb process.*--redis-url"):
            await open_embedded(tmp_path)
    finally:
        await store.close()


async def test_unreachable_redis_names_host_and_port(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(StoreUnavailableError, match=rf"cannot reach Redis at redis://127\.0\.0\.1:{port}/0"):
        await open_store(f"redis://127.0.0.1:{port}/0", data_dir=tmp_path)
    with pytest.raises(StoreUnavailableError) as excinfo:
        await open_store(f"redis://user:s3cret@127.0.0.1:{port}/0", data_dir=tmp_path)
    assert "s3cret" not in str(excinfo.value) and "user:***@" in str(excinfo.value)
