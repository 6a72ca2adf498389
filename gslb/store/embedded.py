"""The embedded store: the same Store code on an in-process fakeredis server, made durable by a journal.

The default when no Redis URL is configured, for a single process. Ordering that keeps memory and
disk in agreement: commits are serialised in-process (so EXEC can never lose a WATCH race once the
checks passed), the entry is appended and fsynced after every check and before EXEC, and the commit
is acknowledged only after EXEC. If EXEC fails, the entry is cut off the journal again. A commit
that reached the journal finishes even if its caller is cancelled; one that did not is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import fakeredis
from redis.exceptions import WatchError

from gslb.store.errors import EmbeddedStoreError
from gslb.store.journal import Journal, Recovered
from gslb.store.keys import KeySpace
from gslb.store.store import DEFAULT_FEED_MAXLEN, DEFAULT_MAX_ENTRY_BYTES, Store, dumps
from gslb.store.types import ChangeEntry, Op

log = logging.getLogger(__name__)

DEFAULT_COMPACT_BYTES = 64 * 1024 * 1024
LOAD_BATCH = 1000


class EmbeddedStore(Store):
    def __init__(
        self,
        data_dir: Path,
        *,
        prefix: str = "gslb",
        fsync: bool = True,
        compact_bytes: int = DEFAULT_COMPACT_BYTES,
        feed_maxlen: int = DEFAULT_FEED_MAXLEN,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
    ) -> None:
        self.server = fakeredis.FakeServer()
        super().__init__(
            fakeredis.FakeAsyncRedis(server=self.server),
            keys=KeySpace(prefix),
            feed_maxlen=feed_maxlen,
            max_entry_bytes=max_entry_bytes,
            description=f"the embedded store in {data_dir}",
        )
        self.data_dir = data_dir
        self.compact_bytes = compact_bytes
        self.journal = Journal(data_dir, fsync=fsync)
        self._commit_lock = asyncio.Lock()
        self._open = False
        self._broken: str | None = None
        # The commit task past its point of no return (journaled): a cancelled caller leaves it running.
        self._committing: asyncio.Task[int] | None = None

    def new_client(self) -> fakeredis.FakeAsyncRedis:
        """Another connection to the same in-process server (reads only: writes bypass the journal)."""
        return fakeredis.FakeAsyncRedis(server=self.server)

    async def open(self) -> None:
        try:
            await asyncio.to_thread(self.journal.lock)
            state = await asyncio.to_thread(self.journal.recover)
            await self._load(state)
            self.journal.open_for_append()
            if state.needs_compaction:
                await asyncio.to_thread(
                    self.journal.write_snapshot,
                    state.rev,
                    state.docs,
                    commit_id=state.commit_id,
                )
        except BaseException:
            self.journal.close()
            await self.client.aclose()
            raise
        self._open = True
        log.info(
            "embedded store in %s open at revision %d (%d documents)",
            self.data_dir,
            state.rev,
            len(state.docs),
        )

    async def _load(self, state: Recovered) -> None:
        items = list(state.docs.items())
        for start in range(0, max(len(items), 1), LOAD_BATCH):
            async with self.client.pipeline(transaction=False) as pipe:
                for key, envelope in items[start : start + LOAD_BATCH]:
                    pipe.hset(self.keys.docs(), key, dumps(envelope))
                    pipe.sadd(self.keys.tenant_index(envelope["tenant"]), key)
                    pipe.sadd(self.keys.kind_index(key.partition(":")[0]), key)
                await pipe.execute()
        # Revision last: nothing reads this server before open() returns, but it keeps the order honest.
        if state.rev:
            await self.client.set(self.keys.revision(), state.rev)
        if state.commit_id is not None:
            await self.client.set(self.keys.head_commit(), state.commit_id)

    async def commit(
        self, ops: Sequence[Op], *, base_revision: int | None = None, actor: str | None = None
    ) -> int:
        # A commit runs in its own task. Cancelling the caller before the commit reaches the journal
        # cancels it; after that it completes regardless, or the journal and the in-memory data
        # could disagree (EXEC may already have run when the cancellation lands).
        task = asyncio.ensure_future(self._serialised_commit(ops, base_revision, actor))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if self._committing is not task:
                task.cancel()
            raise

    async def _serialised_commit(
        self, ops: Sequence[Op], base_revision: int | None, actor: str | None
    ) -> int:
        async with self._commit_lock:
            if not self._open:
                raise EmbeddedStoreError(f"the embedded store in {self.data_dir} is closed")
            broken = self._broken or self.journal.damaged
            if broken is not None:
                raise EmbeddedStoreError(broken)
            try:
                rev = await super().commit(ops, base_revision=base_revision, actor=actor)
                if self.journal.size() > self.compact_bytes:
                    try:
                        await self._compact_locked()
                    except (OSError, EmbeddedStoreError) as exc:
                        # The commit is durable in the journal; only the journal keeps growing.
                        log.error("compacting the embedded store in %s failed: %s", self.data_dir, exc)
                return rev
            finally:
                self._committing = None

    @contextlib.asynccontextmanager
    async def _journaled(self, entry: ChangeEntry) -> AsyncIterator[None]:
        self._committing = asyncio.current_task()  # before the first await: see commit()
        # Full bodies always, even when the stream only gets a reload marker: this is the only copy.
        offset = await asyncio.to_thread(self.journal.append, dumps(entry.to_json()) + b"\n")
        try:
            yield
        except BaseException as exc:
            await self._take_back(offset, exc)
            raise

    async def _take_back(self, offset: int, exc: BaseException) -> None:
        """EXEC did not apply (or failed): the entry must not survive to be replayed at restart."""
        try:
            await asyncio.to_thread(self.journal.truncate, offset)
        except OSError as err:
            self._broken = (
                f"the embedded store in {self.data_dir} could not take back an unapplied commit from "
                f"its journal ({err.strerror}); restart gslb to recover from the journal"
            )
            raise EmbeddedStoreError(self._broken) from exc
        if not isinstance(exc, WatchError):
            # Redis transactions have no rollback: part of EXEC may have been applied in memory.
            self._broken = (
                f"a commit to the embedded store in {self.data_dir} failed half-way ({exc!r}); "
                "restart gslb to recover from the journal"
            )

    async def compact(self) -> None:
        """Fold the journal into a fresh snapshot now (also done at open and when the journal grows large)."""

        async def locked() -> None:
            async with self._commit_lock:
                await self._compact_locked()

        # Shielded: the file work runs in a thread that a cancellation would not stop, so the lock
        # must stay held until it is done.
        await asyncio.shield(locked())

    async def _compact_locked(self) -> None:
        dump = await self.load_all()
        docs = {
            key: {"rev": doc.rev, "tenant": doc.tenant, "body": doc.body} for key, doc in dump.docs.items()
        }
        await asyncio.to_thread(self.journal.write_snapshot, dump.rev, docs, commit_id=dump.commit_id)
        log.info("embedded store in %s compacted at revision %d", self.data_dir, dump.rev)

    async def close(self) -> None:
        """Wait for an in-flight commit, then release the files (and the directory lock)."""
        async with self._commit_lock:
            if not self._open:
                return
            self._open = False
            self.journal.close()
            await super().close()


async def open_embedded(
    data_dir: Path,
    *,
    prefix: str = "gslb",
    fsync: bool = True,
    compact_bytes: int = DEFAULT_COMPACT_BYTES,
    feed_maxlen: int = DEFAULT_FEED_MAXLEN,
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
) -> EmbeddedStore:
    """Open (recovering and compacting) the embedded store in `data_dir`; close() releases it."""
    store = EmbeddedStore(
        Path(data_dir),
        prefix=prefix,
        fsync=fsync,
        compact_bytes=compact_bytes,
        feed_maxlen=feed_maxlen,
        max_entry_bytes=max_entry_bytes,
    )
    await store.open()
    return store
