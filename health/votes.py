"""The vote writer: a site's votes go to the store; quorum states go onto the change feed.

Every site writes its own vote per target (batched, one round trip per flush) whenever its view
changes, and refreshes it well within its freshness window, so a site that dies stops counting.
After writing, the site evaluates the quorum for the targets whose votes changed (and for all of
them every `evaluate_every` seconds, which is what notices expired votes), applies the safety valve
and a manual disable, and commits the states that changed as `health` documents, all in one commit
that carries each document's last revision: when two sites race to write the same change, one
wins and the other re-evaluates from the newer state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gslb.store import ConflictError, Delete, DocRef, Put, Store, StoredDoc, StoreError
from health.quorum import Vote, decide, vote_max_age
from health.targets import TargetPlan, ValveGroup
from health.valve import Stored, Trip, evaluate_valve

log = logging.getLogger(__name__)

HEALTH_KIND = "health"  # the documents gslb.feed reads: {"state": up|down|disabled, ...}
ADMIN_KIND = "health_admin"  # manual disable: {"disabled": true, "reason": ..., "at": ...}
TICK = 0.1  # seconds between looks for due vote refreshes and full evaluations
REFRESHES_PER_WINDOW = 3


def health_ref(key: str) -> DocRef:
    return DocRef(HEALTH_KIND, key)


def admin_ref(key: str) -> DocRef:
    return DocRef(ADMIN_KIND, key)


def stored_state(doc: StoredDoc) -> Stored:
    body = doc.body
    measured = body.get("measured")
    return Stored(
        str(body.get("state", "up")),
        measured if measured in ("up", "down") else None,
        float(body.get("since") or 0.0),
    )


class VoteWriter:
    def __init__(
        self,
        store: Store,
        docs: Callable[[], Mapping[str, StoredDoc]],
        *,
        site: str,
        valve_share: float = 0.5,
        evaluate_every: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._docs = docs
        self.site = site
        self._share = valve_share
        self._evaluate_every = evaluate_every
        self._clock = clock
        self._plan = TargetPlan({}, ())
        self._groups_of: dict[str, list[ValveGroup]] = {}
        self._latest: dict[str, Vote] = {}  # this site's newest vote per target
        self._written: dict[str, Vote] = {}  # what the store holds of ours
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._next_full = 0.0
        self._tripped: dict[str, Trip] = {}
        self._failing = False
        self.valve_trips = 0
        self.commits = 0

    # --- inputs -------------------------------------------------------------------------------

    def set_plan(self, plan: TargetPlan) -> None:
        self._plan = plan
        groups_of: dict[str, list[ValveGroup]] = {}
        for group in plan.groups:
            for key in group.keys:
                groups_of.setdefault(key, []).append(group)
        self._groups_of = groups_of
        for key in [key for key in self._latest if key not in plan.targets]:
            del self._latest[key]
            self._written.pop(key, None)
        self._next_full = 0.0  # evaluate everything (and collect what is gone) at the next flush
        self._wake.set()

    def warm(self, votes: Mapping[str, Vote]) -> None:
        """What this site voted before a restart: still in the store, so not rewritten until due."""
        self._written.update(votes)

    def observe(self, key: str, measured: str, latency_ms: float | None) -> None:
        vote = Vote(measured, self._clock(), latency_ms)
        self._latest[key] = vote
        written = self._written.get(key)
        if written is None or written.state != measured:
            self._dirty.add(key)
            self._wake.set()

    def touch(self, keys: Iterable[str]) -> None:
        """Evaluate these targets soon (a manual disable or enable changed them)."""
        self._dirty.update(keys)
        self._wake.set()

    @property
    def tripped(self) -> Mapping[str, Trip]:
        return self._tripped

    # --- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(TICK):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
                if self._failing:
                    log.warning("health votes reach the store again")
                    self._failing = False
            except StoreError as exc:
                if not self._failing:
                    log.error("cannot write health votes or states: %s; retrying", exc)
                self._failing = True
                await asyncio.sleep(0.5)

    async def flush(self) -> None:
        now = self._clock()
        due: dict[str, Vote] = {}
        for key, vote in self._latest.items():
            written = self._written.get(key)
            target = self._plan.targets.get(key)
            refresh = vote_max_age(target.check.interval) / REFRESHES_PER_WINDOW if target else 1.0
            if written is None or written.state != vote.state or vote.ts - written.ts >= refresh:
                due[key] = vote
        if due:
            await self._store.put_votes(self.site, {key: vote.to_json() for key, vote in due.items()})
            self._written.update(due)
        keys = set(self._dirty)
        self._dirty.clear()
        full = now >= self._next_full
        if full:
            keys.update(self._plan.targets)
            self._next_full = now + self._evaluate_every
        if keys:
            await self.evaluate(keys, now, collect=full)

    # --- quorum, valve, commit ------------------------------------------------------------------

    async def evaluate(self, keys: Iterable[str], now: float, *, collect: bool = False) -> int:
        """Commit the changed states of `keys` (and of their valve groups); returns how many changed."""
        targets = self._plan.targets
        wanted = {key for key in keys if key in targets}
        groups = {group.name: group for key in wanted for group in self._groups_of.get(key, ())}
        for group in groups.values():
            wanted.update(group.keys)
        raw_votes = await self._store.get_votes_many(wanted)
        docs = self._docs()
        stored: dict[str, Stored] = {}
        revisions: dict[str, int] = {}
        bodies: dict[str, dict[str, Any]] = {}
        for key in wanted:
            doc = docs.get(health_ref(key).key)
            if doc is not None:
                stored[key] = stored_state(doc)
                revisions[key] = doc.rev
                bodies[key] = doc.body
        measured: dict[str, str | None] = {}
        counts: dict[str, tuple[int, int]] = {}
        for key in wanted:
            check = targets[key].check
            votes = {}
            for site, raw in raw_votes.get(key, {}).items():
                vote = Vote.from_json(raw)
                if vote is not None:
                    votes[site] = vote
            decision = decide(votes, rule=check.quorum, now=now, max_age=vote_max_age(check.interval))
            old = stored.get(key)
            measured[key] = decision.state or (old.measured if old else None)
            counts[key] = (decision.up_votes, decision.down_votes)
        held, trips = evaluate_valve(groups.values(), measured, stored, now=now, share=self._share)
        self._report(groups, trips)
        ops: list[Put | Delete] = []
        for key in sorted(wanted):
            body = self._body(
                key, measured[key], held, docs, stored.get(key), bodies.get(key), counts[key], now
            )
            if body is not None:
                ops.append(Put(health_ref(key), targets[key].tenant, body, if_rev=revisions.get(key, 0)))
        if collect:
            ops.extend(await self._garbage(docs))
        return await self._commit(ops)

    def _body(
        self,
        key: str,
        measured: str | None,
        held: frozenset[str],
        docs: Mapping[str, StoredDoc],
        old: Stored | None,
        old_body: Mapping[str, Any] | None,
        counts: tuple[int, int],
        now: float,
    ) -> dict[str, Any] | None:
        """The new state document of one target, or None when nothing changes."""
        admin = docs.get(admin_ref(key).key)
        disabled = admin is not None and bool(admin.body.get("disabled", True))
        if disabled:
            state = "disabled"
        elif measured is None:
            return None  # nobody has measured it yet: no state, and unknown health fails open
        else:
            state = "up" if key in held else measured
        is_held = key in held and not disabled
        if (
            old is not None
            and old_body is not None
            and old.state == state
            and old.measured == measured
            and bool(old_body.get("held")) == is_held
        ):
            return None
        body: dict[str, Any] = {
            "state": state,
            "measured": measured,
            "since": now if old is None or old.state != state else old.since,
            "up": counts[0],
            "down": counts[1],
            "by": self.site,
        }
        if is_held:
            body["held"] = True
        return body

    async def _garbage(self, docs: Mapping[str, StoredDoc]) -> list[Delete]:
        """States (and votes) of targets no check references any more."""
        prefix = HEALTH_KIND + ":"
        gone = [
            doc
            for key, doc in docs.items()
            if key.startswith(prefix) and doc.ref.name not in self._plan.targets
        ]
        if gone:
            await self._store.delete_votes(doc.ref.name for doc in gone)
        return [Delete(doc.ref, if_rev=doc.rev) for doc in gone]

    async def _commit(self, ops: list[Put | Delete]) -> int:
        for _attempt in range(3):
            if not ops:
                return 0
            try:
                await self._store.commit(ops, actor=f"health:{self.site}")
            except ConflictError as exc:
                # Another site wrote these first; they are re-evaluated from its state next time.
                lost = {conflict.key for conflict in exc.conflicts}
                self._dirty.update(op.ref.name for op in ops if op.ref.key in lost)
                ops = [op for op in ops if op.ref.key not in lost]
                continue
            self.commits += 1
            for op in ops:
                if isinstance(op, Put):
                    log.info(
                        "health %s is %s (measured %s)", op.ref.name, op.body["state"], op.body["measured"]
                    )
            return len(ops)
        return 0

    def _report(self, groups: Mapping[str, ValveGroup], trips: Iterable[Trip]) -> None:
        tripped_now = {trip.group: trip for trip in trips}
        for name, trip in tripped_now.items():
            if name not in self._tripped:
                self.valve_trips += 1
                log.critical(
                    "SAFETY VALVE: %d of %d checked members of %s failed within one burst (%s); "
                    "suspecting the checker or its network, not the backends. on_all_down is %s: %s",
                    len(trip.failing),
                    trip.members,
                    name,
                    ", ".join(trip.failing),
                    trip.on_all_down,
                    "holding them up (the DNS keeps answering them)"
                    if trip.held
                    else "letting the failures through so the record's policy applies",
                )
        for name in list(self._tripped):
            if name in groups and name not in tripped_now:
                log.warning("safety valve of %s released: failures are back below the share", name)
                del self._tripped[name]
        self._tripped.update(tripped_now)
