"""Follower: a node's live mirror of the store, fed by the change stream.

It loads everything once, then blocks on XREAD for entries after its revision and applies them in
order. Anything it cannot patch forward makes it reload everything: the stream was trimmed past it,
a reload marker, a revision out of sequence, an entry whose parent is not the commit the mirror
holds, a store that went back in time or replaced its latest commit. So a follower is never silently out of
date. Connection losses are retried with capped, jittered backoff; listeners hear of every batch.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence

from gslb.store.errors import StoreError
from gslb.store.store import Store
from gslb.store.types import ChangeEntry, Head, StoredDoc

log = logging.getLogger(__name__)

# changed = the document keys the batch touched, or None after a full reload (recompute everything).
Listener = Callable[[int, frozenset[str] | None], Awaitable[None] | None]

BACKOFF_START = 0.05
BACKOFF_MAX = 5.0
READ_COUNT = 1000
STOP_TIMEOUT = 5.0


class Follower:
    """Mirror of every document, kept current from the change feed.

    `docs` is updated in place between listener calls (and replaced on a reload): read it
    synchronously, or copy what you need before awaiting.

    With `retain_docs=False` the follower is a conduit, not a mirror: during a listener call
    `docs` holds only the documents of that batch (every document after a reload, the changed
    ones otherwise; deleted ones are absent), and it is emptied afterwards. A consumer that keeps
    its own parsed form (the DNS snapshot feed) so avoids holding every document twice, and may
    `take_docs()` to free them while it works.
    """

    def __init__(
        self,
        store: Store,
        *,
        block_ms: int = 1000,
        read_count: int = READ_COUNT,
        retain_docs: bool = True,
        keep: Callable[[StoredDoc], bool] | None = None,
    ) -> None:
        """`keep`: which documents the mirror holds (None: all). A consumer that needs a few kinds
        says so and does not carry the rest (a million static record sets, say); listeners still
        hear of every changed key, and a key not kept reads as absent."""
        if block_ms < 1:
            raise ValueError("block_ms must be at least 1 (0 would block forever and stall stop())")
        self._store = store
        self._block_ms = block_ms
        self._read_count = read_count
        self._retain_docs = retain_docs
        self._keep = keep
        self._docs: MutableMapping[str, StoredDoc] = {}
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._advanced = asyncio.Condition()
        self._loaded = False
        self._failing = False
        self._notifying = False  # still True after a stop() that interrupted the listeners
        self.rev = 0
        self.commit_id: str | None = None  # of the commit at self.rev, when known
        self.reloads = 0  # full loads so far, including the first (for tests and metrics)
        self.last_applied = 0.0  # monotonic time of the last applied batch or reload

    @property
    def docs(self) -> Mapping[str, StoredDoc]:
        return self._docs

    @property
    def retains_docs(self) -> bool:
        return self._retain_docs

    def take_docs(self) -> MutableMapping[str, StoredDoc]:
        """Hand the current batch's documents to the caller (followers with retain_docs=False only)."""
        if self._retain_docs:
            raise RuntimeError("take_docs() is for followers created with retain_docs=False")
        docs, self._docs = self._docs, {}
        return docs

    @property
    def connected(self) -> bool:
        """False while the store is unreachable (the mirror still serves its last revision)."""
        return self._loaded and not self._failing

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    async def start(self) -> None:
        """Load everything (StoreError if unreachable), then follow in the background.

        A follower that was stopped resumes from its own revision: it catches up from the feed and
        reloads only if the feed no longer reaches back that far.
        """
        if self._task is not None:
            raise RuntimeError("the follower is already running")
        if not self._loaded:
            await self._reload()
        else:
            interrupted = self._notifying
            await self._resync()
            if interrupted:
                # Some listeners may have missed a batch the mirror already holds: everyone recomputes.
                await self._notify(None)
        self._task = asyncio.create_task(self._run(), name="store-follower")

    async def stop(self) -> None:
        """Stop following, promptly; the mirror keeps its last state."""
        task, self._task = self._task, None
        if task is None:
            return
        # Python 3.11's asyncio.wait_for (used by redis-py while sending) can swallow a cancellation
        # that lands at the wrong moment, leaving the task blocked for a full XREAD: so cancel again
        # until it really ends.
        deadline = time.monotonic() + STOP_TIMEOUT
        while not task.done():
            if time.monotonic() > deadline:
                log.error("the store follower did not stop within %.0f s; abandoning it", STOP_TIMEOUT)
                return
            task.cancel()
            await asyncio.wait({task}, timeout=0.02)
        if not task.cancelled() and task.exception() is not None:
            log.error("the store follower had ended with an error", exc_info=task.exception())

    async def wait_for(self, rev: int, timeout: float) -> None:
        """Return once the mirror reached revision `rev` and the listeners heard of it; else TimeoutError."""
        try:
            async with asyncio.timeout(timeout), self._advanced:
                await self._advanced.wait_for(lambda: self.rev >= rev)
        except TimeoutError:
            raise TimeoutError(
                f"the follower is at revision {self.rev} and did not reach {rev} within {timeout} s"
            ) from None

    # --- the background loop --------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = BACKOFF_START
        while True:
            try:
                if self._failing:
                    # Never trust the stream position after an outage: the data set may be new.
                    await self._resync()
                    log.warning(
                        "%s reachable again; follower at revision %d", self._store.description, self.rev
                    )
                    self._failing = False
                    backoff = BACKOFF_START
                entries = await self._store.read_feed(
                    self.rev, block_ms=self._block_ms, count=self._read_count
                )
                if entries:
                    await self._apply(entries)
                else:
                    # A quiet feed: make sure the store did not move or restart behind its back.
                    await self._resync()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never die silently: log once, back off, try again
                if not self._failing:
                    if isinstance(exc, StoreError):
                        log.error("follower lost the store: %s; retrying with backoff", exc)
                    else:
                        log.exception("follower failed unexpectedly; retrying with backoff")
                self._failing = True
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _resync(self) -> None:
        head = await self._store.head()
        if self._other_history(head):
            await self._reload()
        elif head.rev > self.rev:
            await self._catch_up()

    def _other_history(self, head: Head) -> bool:
        """Whether the store's history is no longer the one this mirror was built from."""
        went_back = head.rev < self.rev
        replaced = (
            head.rev == self.rev
            and head.commit_id is not None
            and self.commit_id is not None
            and head.commit_id != self.commit_id
        )
        if went_back or replaced:
            log.warning(
                "the store's history changed under the follower (its revision %d, the store's %d): "
                "Redis lost data (a restart without persistence, or a restore), or the prefix was "
                "reset; reloading everything",
                self.rev,
                head.rev,
            )
        return went_back or replaced

    async def _catch_up(self) -> None:
        entries = await self._store.changes_since(self.rev, count=self._read_count)
        if entries is None:
            log.info("change feed no longer reaches back to revision %d: reloading", self.rev)
            await self._reload()
        elif entries:
            await self._apply(entries)

    async def _apply(self, entries: Sequence[ChangeEntry]) -> None:
        changed: set[str] = set()
        start_rev = self.rev
        for entry in entries:
            if entry.rev <= self.rev:
                continue
            if self._breaks_history(entry):
                log.warning(
                    "change feed entry %d does not follow the commit the follower holds (Redis lost "
                    "data, or the prefix was reset): reloading everything",
                    entry.rev,
                )
                await self._reload()
                return
            if entry.rev != self.rev + 1 or entry.reload:
                log.info(
                    "change feed %s at revision %d: reloading",
                    "reload marker" if entry.reload else f"gap ({self.rev} -> {entry.rev})",
                    entry.rev,
                )
                await self._reload()
                return
            for change in entry.changes:
                key = change.ref.key
                changed.add(key)
                if change.op == "delete" or change.body is None:
                    self._docs.pop(key, None)
                else:
                    doc = StoredDoc(change.ref, change.tenant, entry.rev, change.body)
                    if self._keep is None or self._keep(doc):
                        self._docs[key] = doc
                    else:
                        self._docs.pop(key, None)  # no longer of interest (a record set made static)
            self.rev = entry.rev
            self.commit_id = entry.commit_id
        if self.rev != start_rev:
            await self._notify(frozenset(changed))

    def _breaks_history(self, entry: ChangeEntry) -> bool:
        # Entries written before commit IDs existed carry none: nothing to compare then.
        return (
            entry.commit_id is not None and self.commit_id is not None and entry.parent_id != self.commit_id
        )

    async def _reload(self) -> None:
        dump = await self._store.load_all()
        self._docs = dump.docs  # decoded as read (EncodedDocs): never all at once for the feed
        if self._keep is not None:
            keep = self._keep
            kept: dict[str, StoredDoc] = {}
            docs = dump.docs
            while docs:
                key, doc = docs.popitem()  # filed one by one: the full set is never held twice
                if keep(doc):
                    kept[key] = doc
            self._docs = kept
        self.rev = dump.rev
        self.commit_id = dump.commit_id
        del dump  # a consumer may take_docs() and free them while the listeners run
        self._loaded = True
        self.reloads += 1
        await self._notify(None)

    async def _notify(self, changed: frozenset[str] | None) -> None:
        self.last_applied = time.monotonic()
        self._notifying = True
        for listener in list(self._listeners):
            try:
                result = listener(self.rev, changed)
                if result is not None:
                    await result
            except Exception:
                log.exception("store listener %r failed at revision %d; following on", listener, self.rev)
        self._notifying = False
        if not self._retain_docs:
            self._docs = {}
        # After the listeners: whoever waits for a revision may rely on its consequences being in place.
        async with self._advanced:
            self._advanced.notify_all()
