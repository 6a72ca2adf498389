"""The embedded store: a restart loses nothing; damaged or shared files are handled as documented."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gslb.store import Delete, DocRef, EmbeddedStoreError, Follower, Put, StoreError, open_embedded
from gslb.store.journal import JOURNAL, SNAPSHOT


def ref(i: int) -> DocRef:
    return DocRef("zone", f"z{i}.example.")


def journal_lines(data_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (data_dir / JOURNAL).read_bytes().splitlines()]


async def test_close_and_reopen_loses_nothing(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path)
    for i in range(10):
        await store.commit([Put(ref(i), "acme", {"i": i})])
    await store.commit([Delete(ref(3)), Put(ref(4), "globex", {"moved": True})], actor="bob")
    await store.commit([Delete(ref(5))])
    before = await store.load_all()
    assert len(journal_lines(tmp_path)) == 12  # every acknowledged commit is on disk
    await store.close()

    reopened = await open_embedded(tmp_path)
    try:
        after = await reopened.load_all()
        assert after.rev == before.rev == 12
        assert after.docs == before.docs and ref(3).key not in after.docs and ref(5).key not in after.docs
        assert after.commit_id == before.commit_id
        assert [d.ref.key for d in await reopened.list(tenant="globex")] == [ref(4).key]
        assert len(await reopened.list(tenant="acme")) == 7 and len(await reopened.list(kind="zone")) == 8
        assert await reopened.commit([Put(ref(20), "acme", {})]) == 13
        entries = await reopened.changes_since(12)
        assert entries is not None and [e.rev for e in entries] == [13]
        assert entries[0].parent_id == before.commit_id  # the history continues across restarts
        assert await reopened.changes_since(11) is None  # older history lives in the snapshot only
    finally:
        await reopened.close()
    third = await open_embedded(tmp_path)
    try:
        assert await third.revision() == 13 and await third.get(ref(20)) is not None
    finally:
        await third.close()


async def test_open_compacts_the_journal_into_a_snapshot(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path)
    await store.commit([Put(ref(1), "acme", {"v": 1}), Put(ref(2), "acme", {"v": 2})])
    await store.commit([Delete(ref(2))])
    await store.close()
    assert len(journal_lines(tmp_path)) == 2
    reopened = await open_embedded(tmp_path)
    await reopened.close()
    snapshot = json.loads((tmp_path / SNAPSHOT).read_bytes())
    assert snapshot["rev"] == 2 and snapshot["format"] == 1
    assert snapshot["docs"] == {ref(1).key: {"rev": 1, "tenant": "acme", "body": {"v": 1}}}
    assert (tmp_path / JOURNAL).read_bytes() == b""
    assert not (tmp_path / (SNAPSHOT + ".tmp")).exists()


async def test_journal_is_compacted_when_it_grows_large(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path, compact_bytes=2000)
    try:
        for i in range(40):
            await store.commit([Put(ref(i), "acme", {"pad": "x" * 100})])
            assert (tmp_path / JOURNAL).stat().st_size <= 2000 + 400
        assert json.loads((tmp_path / SNAPSHOT).read_bytes())["rev"] > 30
        await store.compact()
        assert (tmp_path / JOURNAL).stat().st_size == 0
    finally:
        await store.close()
    reopened = await open_embedded(tmp_path)
    try:
        assert await reopened.revision() == 40 and len((await reopened.load_all()).docs) == 40
    finally:
        await reopened.close()


async def test_reload_marker_commits_keep_full_bodies_in_the_journal(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path, max_entry_bytes=300)
    await store.commit([Put(ref(i), "acme", {"pad": "x" * 50}) for i in range(20)])
    entries = await store.changes_since(0)
    assert entries is not None and entries[0].reload  # the feed got only a marker...
    await store.close()
    (line,) = journal_lines(tmp_path)
    assert len(line["changes"]) == 20  # type: ignore[arg-type]  # ...the journal everything
    reopened = await open_embedded(tmp_path)
    try:
        assert len((await reopened.load_all()).docs) == 20
    finally:
        await reopened.close()


async def test_torn_last_journal_line_is_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await open_embedded(tmp_path)
    await store.commit([Put(ref(1), "acme", {})])
    await store.commit([Put(ref(2), "acme", {})])
    await store.close()
    with open(tmp_path / JOURNAL, "ab") as handle:
        handle.write(b'{"rev":3,"ts":1.0,"chan')  # a crash in the middle of appending commit 3
    reopened = await open_embedded(tmp_path)
    try:
        assert await reopened.revision() == 2
        assert f"{JOURNAL}:3: dropping a torn last journal entry" in caplog.text
        assert await reopened.commit([Put(ref(3), "acme", {})]) == 3  # appends cleanly after it
    finally:
        await reopened.close()
    again = await open_embedded(tmp_path)
    try:
        assert await again.revision() == 3
    finally:
        await again.close()


async def test_corrupt_middle_line_is_refused_with_file_and_line(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path)
    for i in range(3):
        await store.commit([Put(ref(i), "acme", {})])
    await store.close()
    journal = tmp_path / JOURNAL
    lines = journal.read_bytes().splitlines(keepends=True)
    damaged = lines[0] + b"garbage\n" + lines[2]
    journal.write_bytes(damaged)
    with pytest.raises(EmbeddedStoreError, match=rf"{JOURNAL}:2: corrupt journal entry.*before line 2"):
        await open_embedded(tmp_path)
    assert journal.read_bytes() == damaged, "nothing may be deleted"
    # A gap (a line lost entirely) is refused as well.
    journal.write_bytes(lines[0] + lines[2])
    with pytest.raises(EmbeddedStoreError, match=rf"{JOURNAL}:2: revision 3 follows revision 1"):
        await open_embedded(tmp_path)
    # The failed opens released the lock: after a repair the store opens.
    journal.write_bytes(lines[0] + lines[1])
    repaired = await open_embedded(tmp_path)
    try:
        assert await repaired.revision() == 2
    finally:
        await repaired.close()


async def test_corrupt_snapshot_is_refused(tmp_path: Path) -> None:
    (tmp_path / SNAPSHOT).write_bytes(b'{"rev": 3, "docs": {"zone:a.": {"rev": 1}}}')
    with pytest.raises(EmbeddedStoreError, match=rf"{SNAPSHOT} is unreadable.*Restore it"):
        await open_embedded(tmp_path)


async def test_second_opener_is_refused_by_the_lock(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path)
    try:
        with pytest.raises(EmbeddedStoreError, match=r"in use by another gslb process.*--redis-url"):
            await open_embedded(tmp_path)
        script = (
            "import asyncio, sys\n"
            "from gslb.store import EmbeddedStoreError, open_embedded\n"
            "try:\n"
            f"    asyncio.run(open_embedded({str(tmp_path)!r}))\n"
            "except EmbeddedStoreError as exc:\n"
            "    print(exc); sys.exit(3)\n"
        )
        other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
        assert other.returncode == 3, other.stderr
        assert str(tmp_path) in other.stdout and f"pid {os.getpid()}" in other.stdout
        assert "--redis-url" in other.stdout
    finally:
        await store.close()
    reopened = await open_embedded(tmp_path)  # closing released the lock
    await reopened.close()


async def test_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = await open_embedded(data_dir)
    await store.commit([Put(DocRef("token", "acme/ci"), "acme", {"hash": "..."})])
    await store.close()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for name in (JOURNAL, SNAPSHOT, "lock"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name


async def test_failed_exec_takes_the_entry_back_off_the_journal(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path)
    await store.commit([Put(ref(1), "acme", {})])
    # Sabotage an index key so the transaction fails inside EXEC, after journaling.
    await store.client.set(store.keys.tenant_index("globex"), b"not a set")
    with pytest.raises(StoreError):
        await store.commit([Put(ref(2), "globex", {})])
    assert [line["rev"] for line in journal_lines(tmp_path)] == [1]
    with pytest.raises(EmbeddedStoreError, match="restart gslb"):
        await store.commit([Put(ref(3), "acme", {})])  # memory may be half-applied: refuse until reopened
    await store.close()
    reopened = await open_embedded(tmp_path)
    try:
        assert await reopened.revision() == 1 and await reopened.get(ref(2)) is None
    finally:
        await reopened.close()


async def test_a_cancelled_caller_does_not_split_journal_and_memory(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path)
    follower = Follower(store, block_ms=100)
    await follower.start()
    try:
        for i in range(30):
            task = asyncio.create_task(store.commit([Put(ref(i), "acme", {"i": i})]))
            for _ in range(i % 6):
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        # Commits are serialised: once this one is done, every cancelled one has finished or vanished.
        rev = await store.commit([Put(ref(100), "acme", {})])
        assert 1 <= rev <= 31
        journaled = journal_lines(tmp_path)
        assert [line["rev"] for line in journaled] == list(range(1, rev + 1))
        await follower.wait_for(rev, timeout=2)
        memory = await store.load_all()
        assert len(memory.docs) == rev and dict(follower.docs) == memory.docs
    finally:
        await follower.stop()
        await store.close()
    reopened = await open_embedded(tmp_path)
    try:
        assert await reopened.load_all() == memory
    finally:
        await reopened.close()


async def test_closed_store_refuses_commits(tmp_path: Path) -> None:
    store = await open_embedded(tmp_path)
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(EmbeddedStoreError, match="is closed"):
        await store.commit([Put(ref(1), "acme", {})])
