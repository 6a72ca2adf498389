"""The embedded store: the same Store code on in-process fakeredis, made durable by a journal.

Every commit is appended to `journal.jsonl` and fsynced before it is applied (EXEC) and acknowledged;
commits are serialised in-process, so the journal order is the revision order and a journaled
commit can never lose a WATCH race afterwards. On open: load `snapshot.json`, replay the journal,
write a fresh snapshot (temp + fsync + rename) and start an empty journal. A torn last line (a crash
mid-append of a commit that was never acknowledged) is dropped; a corrupt line before it is refused.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import fakeredis

from gslb.store.errors import EmbeddedStoreError
from gslb.store.keys import KeySpace
from gslb.store.store import Store, dumps
from gslb.store.types import ChangeEntry, Op

log = logging.getLogger(__name__)

SNAPSHOT = "snapshot.json"
JOURNAL = "journal.jsonl"
LOCK = "lock"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EmbeddedStore(Store):
    def __init__(self, data_dir: Path, *, prefix: str = "gslb", fsync: bool = True, **kwargs: Any) -> None:
        self.server = fakeredis.FakeServer()
        super().__init__(
            fakeredis.FakeAsyncRedis(server=self.server),
            keys=KeySpace(prefix),
            description=f"embedded store in {data_dir}",
            **kwargs,
        )
        self.data_dir = data_dir
        self.fsync = fsync
        self._commit_lock = asyncio.Lock()
        self._journal: IO[bytes] | None = None
        self._lock_file: IO[bytes] | None = None
        self._epoch: str | None = None

    def new_client(self) -> fakeredis.FakeAsyncRedis:
        """Another connection to the same in-process server (e.g. for a second follower)."""
        return fakeredis.FakeAsyncRedis(server=self.server)

    def blocking_client(self) -> fakeredis.FakeAsyncRedis:
        # fakeredis serialises commands per client: a blocked XREAD would stall every commit.
        return self.new_client()

    async def open(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.data_dir / LOCK, "ab")  # noqa: SIM115 - held for the store's life
        except OSError as exc:
            raise EmbeddedStoreError(f"cannot use data directory {self.data_dir}: {exc.strerror}") from None
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            self._lock_file = None
            raise EmbeddedStoreError(
                f"the embedded store in {self.data_dir} is in use by another gslb process; "
                "stop it, give this one another --data-dir, or share one Redis with --redis-url"
            ) from None
        try:
            revision, docs = self._recover()
            await self._load_into_redis(revision, docs)
            self._compact(revision, docs, self._epoch)
            self._journal = open(self.data_dir / JOURNAL, "ab")  # noqa: SIM115
        except BaseException:
            await self.close()
            raise
        log.info(
            "embedded store in %s open at revision %d (%d documents)", self.data_dir, revision, len(docs)
        )

    async def commit(
        self, ops: Sequence[Op], *, base_revision: int | None = None, actor: str | None = None
    ) -> int:
        async with self._commit_lock:
            return await super().commit(ops, base_revision=base_revision, actor=actor)

    async def before_exec(self, entry: ChangeEntry) -> None:
        if self._journal is None:
            raise EmbeddedStoreError("the embedded store is closed")
        # The journal always holds full bodies, even when the stream gets only a reload marker.
        self._journal.write(dumps(entry.to_json()) + b"\n")
        self._journal.flush()
        if self.fsync:
            os.fsync(self._journal.fileno())

    async def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self._lock_file is not None:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None
        await super().close()

    # --- recovery -----------------------------------------------------------------------------

    def _recover(self) -> tuple[int, dict[str, dict[str, Any]]]:
        revision = 0
        docs: dict[str, dict[str, Any]] = {}
        snapshot = self.data_dir / SNAPSHOT
        if snapshot.exists():
            try:
                data = json.loads(snapshot.read_bytes())
                revision, docs = int(data["rev"]), dict(data["docs"])
                self._epoch = data.get("epoch")
            except (ValueError, KeyError, TypeError) as exc:
                raise EmbeddedStoreError(
                    f"{snapshot} is corrupt ({exc}); restore it from a backup or move it away to start empty"
                ) from None
        journal = self.data_dir / JOURNAL
        if journal.exists():
            lines = journal.read_bytes().split(b"\n")
            last_index = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
            for index, line in enumerate(lines):
                if not line.strip():
                    continue
                try:
                    entry = ChangeEntry.from_json(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    if index == last_index:
                        log.warning(
                            "%s:%d: dropping a torn last entry (a crash during its commit; it "
                            "was never acknowledged)",
                            journal,
                            index + 1,
                        )
                        break
                    raise EmbeddedStoreError(
                        f"{journal}:{index + 1}: corrupt journal entry ({exc}); nothing was changed. "
                        "Restore the file from a backup or truncate it before this line"
                    ) from None
                if entry.rev <= revision:
                    continue  # already in the snapshot (a crash between compaction steps)
                if entry.rev != revision + 1:
                    raise EmbeddedStoreError(
                        f"{journal}:{index + 1}: revision {entry.rev} follows {revision}; the journal is "
                        "missing entries. Restore it from a backup"
                    )
                for change in entry.changes:
                    self._epoch = entry.epoch or self._epoch
                    if change.op == "delete":
                        docs.pop(change.ref.key, None)
                    else:
                        docs[change.ref.key] = {
                            "rev": entry.rev,
                            "tenant": change.tenant,
                            "body": change.body,
                        }
                revision = entry.rev
        return revision, docs

    async def _load_into_redis(self, revision: int, docs: dict[str, dict[str, Any]]) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.revision(), revision)
            if self._epoch is not None:  # keep the data set's identity across restarts
                pipe.set(self.keys.epoch(), self._epoch)
            for key, envelope in docs.items():
                pipe.hset(self.keys.docs(), key, dumps(envelope))
                kind = key.partition(":")[0]
                pipe.sadd(self.keys.tenant_index(envelope["tenant"]), key)
                pipe.sadd(self.keys.kind_index(kind), key)
            await pipe.execute()

    def _compact(self, revision: int, docs: dict[str, dict[str, Any]], epoch: str | None) -> None:
        temp = self.data_dir / (SNAPSHOT + ".tmp")
        with open(temp, "wb") as handle:
            handle.write(dumps({"rev": revision, "epoch": epoch, "docs": docs}))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.data_dir / SNAPSHOT)
        _fsync_dir(self.data_dir)
        # Only after the snapshot is durable may the journal it absorbed go.
        with open(self.data_dir / JOURNAL, "wb") as handle:
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(self.data_dir)


async def open_embedded(
    data_dir: Path, *, prefix: str = "gslb", fsync: bool = True, **kwargs: Any
) -> EmbeddedStore:
    store = EmbeddedStore(Path(data_dir), prefix=prefix, fsync=fsync, **kwargs)
    await store.open()
    return store
