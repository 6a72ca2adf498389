"""Follower: a node's live mirror of the store, fed by the change stream.

It loads everything once, then blocks on XREAD for entries after its revision and applies them in
order. Any gap (the stream was trimmed past us, a reload marker, a revision out of sequence) means
reloading everything: a follower is never silently out of date. Connection losses are retried
with capped, jittered backoff; listeners learn about every applied batch.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from gslb.store.errors import StoreError, StoreUnavailableError
from gslb.store.store import Store
from gslb.store.types import ChangeEntry, StoredDoc

log = logging.getLogger(__name__)

Listener = Callable[[int, frozenset[str] | None], Awaitable[None] | None]

BACKOFF_START = 0.05
BACKOFF_MAX = 5.0
READ_COUNT = 1000


class Follower:
    def __init__(self, store: Store, *, block_ms: int = 1000) -> None:
        self._store = store
        self._block_ms = block_ms
        self._docs: dict[str, StoredDoc] = {}
        self.rev = 0
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._advanced = asyncio.Condition()
        self.reloads = 0
        self._reader: Any = None
        self._stopping = False
        self.epoch: str | None = None

    @property
    def docs(self) -> Mapping[str, StoredDoc]:
        return self._docs

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        """Load everything (StoreError if the store is unreachable), then follow in the background."""
        await self._reload()
        self._task = asyncio.create_task(self._run(), name="store-follower")

    async def stop(self) -> None:
        """Stop following within about one block interval."""
        if self._task is not None:
            self._stopping = True
            # Let the current blocking read end on its own: fakeredis can swallow a cancellation
            # that lands inside a blocking XREAD, so cancelling is only the fallback.
            done, _ = await asyncio.wait({self._task}, timeout=self._block_ms / 1000 + 1)
            if not done:
                self._task.cancel()
                done, _ = await asyncio.wait({self._task}, timeout=2)
                if not done:
                    log.error("follower task did not stop; abandoning it")
            elif not self._task.cancelled() and self._task.exception() is not None:
                log.error("follower ended with an error: %r", self._task.exception())
            self._task = None
            self._stopping = False
        if self._reader is not None and self._reader is not self._store.client:
            await self._reader.aclose()  # type: ignore[attr-defined]
        self._reader = None

    async def wait_for(self, rev: int, timeout: float) -> None:
        async with asyncio.timeout(timeout), self._advanced:
            await self._advanced.wait_for(lambda: self.rev >= rev)

    async def _run(self) -> None:
        backoff = BACKOFF_START
        failing = False
        while not self._stopping:
            try:
                if failing:
                    # Never resume reading the stream before checking it is still the same data set.
                    await self._recover()
                    log.warning("store reachable again; follower caught up at revision %d", self.rev)
                    failing = False
                    backoff = BACKOFF_START
                await self._follow_once()
            except asyncio.CancelledError:
                raise
            except (StoreError, OSError) as exc:
                if not failing:
                    log.error("follower lost the store (%s); retrying with backoff", exc)
                failing = True
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, BACKOFF_MAX)
            except Exception:  # never die silently: log, back off, continue
                log.exception("follower failed unexpectedly; retrying")
                failing = True
                await asyncio.sleep(BACKOFF_MAX)

    async def _follow_once(self) -> None:
        if self._reader is None:
            self._reader = self._store.blocking_client()
        client = self._reader
        stream = self._store.keys.changes()
        try:
            result = await client.xread({stream: f"{self.rev}-0"}, count=READ_COUNT, block=self._block_ms)
        except (ConnectionError, OSError) as exc:
            raise StoreUnavailableError(str(exc)) from exc
        except Exception as exc:
            if type(exc).__module__.startswith("redis"):
                raise StoreUnavailableError(str(exc)) from exc
            raise
        if not result:
            # A quiet stream, or one trimmed/reset behind our back: check the revision cheaply.
            current = await self._store.revision()
            if current < self.rev:
                await self._recover()
            elif current != self.rev:
                await self._catch_up()
            return
        _stream, raw_entries = result[0]
        entries = [self._store._parse_entry(entry_id, fields) for entry_id, fields in raw_entries]
        await self._apply(entries)

    async def _recover(self) -> None:
        """After losing the store: the same data set resumes from the feed, a new one reloads."""
        if await self._store.epoch() != self.epoch:
            log.warning(
                "the store's data set changed while disconnected (a Redis without persistence "
                "restarted?); reloading everything"
            )
            await self._reload()
        else:
            await self._catch_up()

    async def _catch_up(self) -> None:
        entries = await self._store.changes_since(self.rev, count=READ_COUNT)
        if entries is None:
            await self._reload()
        elif entries:
            await self._apply(entries)

    async def _apply(self, entries: list[ChangeEntry]) -> None:
        changed: set[str] = set()
        for entry in entries:
            if entry.epoch is not None and self.epoch is not None and entry.epoch != self.epoch:
                log.warning(
                    "the store's data set changed (a Redis without persistence restarted?): reloading"
                )
                await self._reload()
                return
            if entry.rev <= self.rev:
                continue
            if entry.rev != self.rev + 1 or entry.reload:
                log.info(
                    "change feed gap at revision %d (next entry %d%s): reloading",
                    self.rev,
                    entry.rev,
                    ", reload marker" if entry.reload else "",
                )
                await self._reload()
                return
            for change in entry.changes:
                key = change.ref.key
                changed.add(key)
                if change.op == "delete" or change.body is None:
                    self._docs.pop(key, None)
                else:
                    self._docs[key] = StoredDoc(change.ref, change.tenant, entry.rev, change.body)
            self.rev = entry.rev
            self.epoch = entry.epoch or self.epoch
        if changed or entries:
            await self._notify(frozenset(changed))

    async def _reload(self) -> None:
        dump = await self._store.load_all()
        self._docs = dict(dump.docs)
        self.rev = dump.rev
        self.epoch = dump.epoch
        self.reloads += 1
        await self._notify(None)

    async def _notify(self, changed: frozenset[str] | None) -> None:
        async with self._advanced:
            self._advanced.notify_all()
        for listener in self._listeners:
            try:
                result = listener(self.rev, changed)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("store listener failed at revision %d", self.rev)
