"""The embedded store's files: a lock, a snapshot of every document, and a journal of later commits.

data_dir/lock           flock'ed for the store's life: one process per directory
data_dir/snapshot.json  {"format", "rev", "commit_id", "docs": {key: {"rev", "tenant", "body"}}}
data_dir/journal.jsonl  one ChangeEntry (always with full bodies) per line, revisions rev+1, rev+2, ...

Appends are fsynced before the commit is applied or acknowledged. Recovery replays the journal onto
the snapshot; compaction writes a new snapshot (temp + fsync + rename) and only then empties the
journal, so a crash at any point leaves a state that recovers to the same documents.
All methods are blocking file I/O: the embedded store calls them through a thread.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gslb.store.errors import EmbeddedStoreError, StoreError
from gslb.store.store import dumps
from gslb.store.types import ChangeEntry, DocRef

log = logging.getLogger(__name__)

SNAPSHOT = "snapshot.json"
JOURNAL = "journal.jsonl"
LOCK = "lock"
SNAPSHOT_FORMAT = 1
# The documents hold policy and API tokens: nobody else on the machine needs to read them.
FILE_MODE = 0o600
DIR_MODE = 0o700

Envelope = dict[str, Any]  # {"rev": int, "tenant": str, "body": dict}


@dataclass(slots=True)
class Recovered:
    rev: int = 0
    docs: dict[str, Envelope] = field(default_factory=dict)
    commit_id: str | None = None
    needs_compaction: bool = False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Journal:
    def __init__(self, data_dir: Path, *, fsync: bool = True) -> None:
        self.data_dir = data_dir
        self.fsync = fsync
        self.snapshot_path = data_dir / SNAPSHOT
        self.journal_path = data_dir / JOURNAL
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self.damaged: str | None = None  # set when appending further could corrupt the journal

    # --- ownership ------------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the directory for this process, or explain who has it."""
        try:
            self.data_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            fd = os.open(self.data_dir / LOCK, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            raise EmbeddedStoreError(
                f"cannot use {self.data_dir} for the embedded store: {exc.strerror}. "
                "Give gslb a writable --data-dir"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise EmbeddedStoreError(
                f"the embedded store in {self.data_dir} is in use by another gslb process (pid {holder}). "
                "Only one process can open an embedded store: stop the other one, give this one another "
                "--data-dir, or run a Redis and point every process at it with --redis-url"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise EmbeddedStoreError(
                f"cannot lock {self.data_dir / LOCK}: {exc.strerror}. The embedded store needs a local "
                "file system with flock (not NFS); use another --data-dir or --redis-url"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    # --- recovery -------------------------------------------------------------------------------

    def recover(self) -> Recovered:
        """The state at the last journaled commit. Refuses damage it cannot safely repair; deletes nothing."""
        state = self._read_snapshot()
        if not self.journal_path.exists():
            state.needs_compaction = not self.snapshot_path.exists()
            return state
        data = self.journal_path.read_bytes()
        state.needs_compaction = bool(data)
        lines = data.split(b"\n")
        last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
        for index, line in enumerate(lines):
            if not line.strip():
                continue
            where = f"{self.journal_path}:{index + 1}"
            try:
                entry = ChangeEntry.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError, StoreError) as exc:
                if index == last:
                    # A crash in the middle of an append: that commit was never acknowledged.
                    log.warning(
                        "%s: dropping a torn last journal entry (%s); it was never acknowledged", where, exc
                    )
                    break
                raise EmbeddedStoreError(
                    f"{where}: corrupt journal entry ({exc}); nothing was changed. Restore the file from a "
                    f"backup, or cut it before line {index + 1} to lose the commits from there on"
                ) from None
            if entry.rev <= state.rev:
                continue  # already in the snapshot: a crash between writing it and emptying the journal
            if entry.rev != state.rev + 1:
                raise EmbeddedStoreError(
                    f"{where}: revision {entry.rev} follows revision {state.rev}; commits are missing. "
                    "Restore the journal and snapshot from a backup"
                )
            for change in entry.changes:
                if change.op == "delete":
                    state.docs.pop(change.ref.key, None)
                else:
                    state.docs[change.ref.key] = {
                        "rev": entry.rev,
                        "tenant": change.tenant,
                        "body": change.body,
                    }
            state.rev = entry.rev
            state.commit_id = entry.commit_id
        return state

    def _read_snapshot(self) -> Recovered:
        if not self.snapshot_path.exists():
            return Recovered()
        try:
            data = json.loads(self.snapshot_path.read_bytes())
            if data.get("format", SNAPSHOT_FORMAT) != SNAPSHOT_FORMAT:
                raise ValueError(f"unknown format {data['format']!r} (written by a newer gslb?)")
            docs: dict[str, Envelope] = {}
            for key, envelope in data["docs"].items():
                DocRef.parse(key)
                if not isinstance(envelope["body"], dict) or not isinstance(envelope["tenant"], str):
                    raise ValueError(f"document {key} is malformed")
                docs[key] = {
                    "rev": int(envelope["rev"]),
                    "tenant": envelope["tenant"],
                    "body": envelope["body"],
                }
            return Recovered(int(data["rev"]), docs, data.get("commit_id"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, StoreError) as exc:
            raise EmbeddedStoreError(
                f"{self.snapshot_path} is unreadable ({exc}); nothing was changed. Restore it from a backup"
            ) from None

    # --- writing --------------------------------------------------------------------------------

    def open_for_append(self) -> None:
        self._fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)

    def append(self, line: bytes) -> int:
        """Append one entry line durably; returns the journal's size before it (for truncate)."""
        fd = self._require_fd()
        offset = os.fstat(fd).st_size
        try:
            _write_all(fd, line)
            if self.fsync:
                os.fsync(fd)
        except OSError as exc:
            try:
                self.truncate(offset)  # do not leave half a line for the next append to follow
            except OSError:
                self.damaged = (
                    f"{self.journal_path} may end in half an entry that could not be cut off "
                    f"({exc.strerror}); restart gslb once the disk is healthy"
                )
                raise EmbeddedStoreError(self.damaged) from None
            raise EmbeddedStoreError(
                f"cannot write {self.journal_path}: {exc.strerror}; nothing was committed"
            ) from None
        return offset

    def truncate(self, offset: int) -> None:
        """Take back entries from `offset` on (a commit that was journaled but not applied)."""
        fd = self._require_fd()
        os.ftruncate(fd, offset)
        if self.fsync:
            os.fsync(fd)

    def size(self) -> int:
        return os.fstat(self._require_fd()).st_size

    def write_snapshot(self, rev: int, docs: dict[str, Envelope], *, commit_id: str | None) -> None:
        """Compaction: a durable snapshot of everything, then an empty journal."""
        temp = self.snapshot_path.with_name(SNAPSHOT + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            snapshot = {
                "format": SNAPSHOT_FORMAT,
                "rev": rev,
                "commit_id": commit_id,
                "docs": docs,
            }
            _write_all(fd, dumps(snapshot))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, self.snapshot_path)
        _fsync_dir(self.data_dir)
        # Only once the snapshot is durable may the journal it absorbed go.
        self.truncate(0)

    def _require_fd(self) -> int:
        if self._fd is None:
            raise EmbeddedStoreError(f"the embedded store in {self.data_dir} is closed")
        return self._fd
