"""SnapshotFeed: a node's live answer snapshot, rebuilt from the store's change feed off the hot path.

The follower mirrors the store; on every applied batch this feed re-parses only the changed
documents, recompiles only the zones they can affect, and swaps the snapshot by reference. Readers
(the DNS hot path, anycast, the proxy) just read `feed.snapshot`: no locks, no awaits.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from gslb.engine import Snapshot, compile_policy
from gslb.engine.index import PolicyIndex, compile_index, recompile_index
from gslb.policy import PolicyError, PolicySet, parse_document
from gslb.policy.bulk import gc_paused
from gslb.store import Follower, Store, StoredDoc

log = logging.getLogger(__name__)

HEALTH_KIND = "health"
SnapshotListener = Callable[[Snapshot], Awaitable[None] | None]


def parse_stored(doc: StoredDoc, ignored: dict[str, str], reader: str) -> Any | None:
    """The spec of a stored policy document, or None when it does not parse (noted in `ignored`).

    One bad document (written by an older or newer version) must not take a reader down: it is
    logged, listed, and left out, and taken off the list once a good version arrives.
    """
    try:
        spec = parse_document(doc.ref.kind, doc.body, doc=doc.ref.key)
    except PolicyError as exc:
        ignored[doc.ref.key] = str(exc)
        log.error("%s ignores stored document %s: %s", reader, doc.ref.key, exc)
        return None
    ignored.pop(doc.ref.key, None)
    return spec


def health_state_is_up(body: Mapping[str, object]) -> bool:
    """A stored health state counts as up unless it says down or disabled."""
    return body.get("state", "up") == "up"


@dataclass(frozen=True, slots=True)
class CompileStats:
    revision: int
    zones: int
    record_sets: int
    seconds: float
    full: bool
    ignored_documents: tuple[str, ...]


class SnapshotFeed:
    def __init__(self, store: Store, *, block_ms: int = 1000) -> None:
        # The feed keeps parsed specs; the follower need not also keep every raw document.
        self._follower = Follower(store, block_ms=block_ms, retain_docs=False)
        self._follower.add_listener(self._on_change)
        self.index = PolicyIndex()
        self.health: dict[str, bool] = {}
        self.snapshot: Snapshot = compile_policy(PolicySet(), {}, revision=0)
        self.stats: CompileStats | None = None
        self.snapshot_time = 0.0
        self._listeners: list[SnapshotListener] = []
        self._ignored: dict[str, str] = {}
        self._lock = asyncio.Lock()

    def add_listener(self, listener: SnapshotListener) -> None:
        self._listeners.append(listener)

    @property
    def follower(self) -> Follower:
        """The store mirror this feed follows; other components of the node may share it."""
        return self._follower

    async def start(self) -> None:
        await self._follower.start()
        if self.stats is None:  # the follower's first load may not call listeners
            await self._on_change(self._follower.rev, None)

    async def stop(self) -> None:
        await self._follower.stop()

    async def wait_for(self, revision: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.snapshot.revision < revision:
            if time.monotonic() > deadline:
                raise TimeoutError(f"snapshot did not reach revision {revision} in {timeout}s")
            await asyncio.sleep(0.005)

    async def _on_change(self, revision: int, changed: frozenset[str] | None) -> None:
        async with self._lock:
            started = time.perf_counter()
            if changed is None:
                full = True
                self._ignored.clear()
                self.index = PolicyIndex()  # the old one is garbage before parsing: one copy in memory
                with gc_paused():
                    self.index, self.health = self._parse_all(self._follower.take_docs())
                snapshot = compile_index(self.index, self.health, revision=revision)
                self.index.tracking = True  # from now on, changes are noted for patching
            else:
                full = False
                zones, health_only, patchable = self._apply(self._follower.docs, changed)
                snapshot = recompile_index(
                    self.snapshot,
                    self.index,
                    self.health,
                    zones=zones | health_only,
                    revision=revision,
                    keep_serial=health_only,
                    names=patchable,
                )
            self.snapshot = snapshot
            self.snapshot_time = time.time()
            # Everything alive now is long-lived (specs, snapshot): move it out of the cycle
            # collector's reach. Otherwise each full collection walks millions of objects and
            # stalls the DNS hot path for a second or more with a large policy. What becomes
            # garbage later is still freed by reference counting (none of it forms cycles).
            gc.freeze()
            elapsed = time.perf_counter() - started
            record_sets = self.index.record_sets
            self.stats = CompileStats(
                revision, len(snapshot.zones), record_sets, elapsed, full, tuple(sorted(self._ignored))
            )
            log.info(
                "snapshot at revision %d: %d zones, %d record sets, %s compile in %.1f ms",
                revision,
                len(snapshot.zones),
                record_sets,
                "full" if full else "incremental",
                elapsed * 1000,
            )
        for listener in self._listeners:
            try:
                result = listener(snapshot)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:  # a broken consumer must not stop the feed
                log.exception("snapshot listener failed")

    def _parse(self, doc: StoredDoc) -> object | None:
        return parse_stored(doc, self._ignored, "the DNS node")

    def policy(self) -> PolicySet:
        """The parsed policy as an immutable PolicySet (a copy: O(all documents))."""
        return self.index.policy_set(self.snapshot.revision)

    def _parse_all(self, docs: MutableMapping[str, StoredDoc]) -> tuple[PolicyIndex, dict[str, bool]]:
        """Parse every document, consuming `docs`: each raw document is freed as its spec is made,
        so a large store never needs its raw and parsed forms in memory at once."""
        index = PolicyIndex()
        health = {}
        while docs:
            key, doc = docs.popitem()
            if doc.ref.kind == HEALTH_KIND:
                health[doc.ref.name] = health_state_is_up(doc.body)
            elif doc.ref.kind in _POLICY_KINDS and (spec := self._parse(doc)) is not None:
                index.put(key, spec)
        return index, health

    def _apply(
        self, docs: Mapping[str, StoredDoc], changed: Collection[str]
    ) -> tuple[set[str], set[str], dict[str, set[str]]]:
        """Update policy and health for the changed keys; return the zones to recompile: those whose
        content changed, and those whose answers only health (or checks, tenants) changed, which
        keep their SOA serial (what a zone transfer carries did not change); and, of the first,
        those where only some names' record sets changed (nothing about health), with the names:
        those can be patched name by name."""
        index = self.index
        zones: set[str] = set()
        health_tenants: set[str] = set()  # checks or tenants changed: their zones' answers may differ
        health_keys: set[str] = set()
        for key in changed:
            kind, _, name = key.partition(":")
            doc = docs.get(key)
            if kind == HEALTH_KIND:
                if doc is None:
                    self.health.pop(name, None)
                else:
                    self.health[name] = health_state_is_up(doc.body)
                health_keys.add(name)
                continue
            if kind not in _POLICY_KINDS:
                continue
            new = self._parse(doc) if doc is not None else None
            # A document that no longer parses is dropped, as on a full load.
            zones |= index.put(key, new) if new is not None else index.delete(key)
            if kind in ("check", "tenant"):
                health_tenants.add(name.split("/", 1)[0])
        health_touched: set[str] = set()
        if health_keys:
            # Only the zones whose dynamic answers looked these states up (not every zone of the
            # tenant): a health flip in a tenant with a million static names recompiles one zone.
            health_touched |= self.snapshot.zones_depending_on(health_keys)
        if health_tenants:
            health_touched |= index.zones_of_tenants(health_tenants)
        patchable = {
            zone: names
            for zone, names in index.take_changes().items()
            if names is not None and zone not in health_touched
        }
        return zones, health_touched - zones, patchable


_POLICY_KINDS = frozenset({"tenant", "zone", "rrset", "check", "vip", "upstream", "route", "anycast"})
