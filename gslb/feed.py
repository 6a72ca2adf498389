"""SnapshotFeed: a node's live answer snapshot, rebuilt from the store's change feed off the hot path.

The follower mirrors the store; on every applied batch this feed re-parses only the changed
documents, recompiles only the zones they can affect, and swaps the snapshot by reference. Readers
(the DNS hot path, anycast, the proxy) just read `feed.snapshot`: no locks, no awaits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass

from gslb.engine import Snapshot, compile_policy, recompile
from gslb.policy import PolicyError, PolicySet, parse_document
from gslb.policy.bulk import gc_paused
from gslb.store import Follower, Store, StoredDoc

log = logging.getLogger(__name__)

HEALTH_KIND = "health"
SnapshotListener = Callable[[Snapshot], Awaitable[None] | None]


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
        self._follower = Follower(store, block_ms=block_ms)
        self._follower.add_listener(self._on_change)
        self.policy = PolicySet()
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
            docs = self._follower.docs
            if changed is None:
                full = True
                self._ignored.clear()
                with gc_paused():
                    self.policy, self.health = self._parse_all(docs, revision)
                snapshot = compile_policy(self.policy, self.health, revision=revision)
            else:
                full = False
                zones = self._apply(docs, changed, revision)
                snapshot = recompile(self.snapshot, self.policy, self.health, zones=zones, revision=revision)
            self.snapshot = snapshot
            self.snapshot_time = time.time()
            elapsed = time.perf_counter() - started
            record_sets = sum(1 for key in self.policy.docs if key.startswith("rrset:"))
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
        try:
            spec = parse_document(doc.ref.kind, doc.body, doc=doc.ref.key)
        except PolicyError as exc:
            # One bad document (written by an older or newer version) must not take the node down.
            self._ignored[doc.ref.key] = str(exc)
            log.error("ignoring stored document %s: %s", doc.ref.key, exc)
            return None
        self._ignored.pop(doc.ref.key, None)
        return spec

    def _parse_all(self, docs: Mapping[str, StoredDoc], revision: int) -> tuple[PolicySet, dict[str, bool]]:
        specs = {}
        health = {}
        for key, doc in docs.items():
            if doc.ref.kind == HEALTH_KIND:
                health[doc.ref.name] = health_state_is_up(doc.body)
            elif (spec := self._parse(doc)) is not None and doc.ref.kind in _POLICY_KINDS:
                specs[key] = spec
        return PolicySet(specs, revision), health

    def _apply(self, docs: Mapping[str, StoredDoc], changed: Collection[str], revision: int) -> set[str]:
        """Update policy and health for the changed keys; return the zones to recompile."""
        specs = dict(self.policy.docs)
        zones: set[str] = set()
        health_tenants: set[str] = set()
        for key in changed:
            kind, _, name = key.partition(":")
            doc = docs.get(key)
            if kind == HEALTH_KIND:
                if doc is None:
                    self.health.pop(name, None)
                else:
                    self.health[name] = health_state_is_up(doc.body)
                health_tenants.add(name.split("/", 1)[0])
                continue
            if kind not in _POLICY_KINDS:
                continue
            old = specs.pop(key, None)
            new = self._parse(doc) if doc is not None else None
            if new is not None:
                specs[key] = new
            zones |= _zones_touched(kind, name, old, new)
            if kind in ("check", "tenant"):
                health_tenants.add(name.split("/", 1)[0])
        self.policy = PolicySet(specs, revision)
        if health_tenants:
            zones |= {zone for zone, spec in self.policy.zones().items() if spec.tenant in health_tenants}
        return zones


def _zones_touched(kind: str, name: str, old: object | None, new: object | None) -> set[str]:
    if kind == "zone":
        return {name}
    if kind == "rrset":
        return {name.split("/", 1)[0]}
    return set()


_POLICY_KINDS = frozenset({"tenant", "zone", "rrset", "check", "vip", "upstream", "route", "anycast"})
