"""The checker: follows the policy, probes every target, votes, and keeps the quorum states current.

One per site (`gslb health`, or inside `gslb serve`). Start order: follow the store, load this
site's previous votes (a warm start: it resumes from what it last measured), then probe and vote.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gslb.store import Follower, Store, StoredDoc
from health.fsm import MemberState, ProbeResult, advance, warm_state
from health.policy_view import PolicyView, wanted
from health.probes.base import ProbeOutcome
from health.quorum import Vote
from health.scheduler import Prober, Scheduler
from health.targets import Target, plan_targets
from health.votes import ADMIN_KIND, HEALTH_KIND, VoteWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckerSettings:
    site: str
    max_in_flight: int = 1000
    jitter: float = 0.1
    valve_share: float = 0.5
    evaluate_every: float = 1.0

    def problems(self) -> list[str]:
        problems = []
        if not self.site or len(self.site) > 128 or not self.site.isprintable():
            problems.append("--site must be 1-128 printable characters")
        if self.max_in_flight < 1:
            problems.append("--max-in-flight must be at least 1")
        if not 0 <= self.jitter < 1:
            problems.append("--jitter is a share of the interval: at least 0 and below 1")
        if not 0 < self.valve_share <= 1:
            problems.append("--valve-share must be above 0 and at most 1 (1 turns the valve off)")
        if not 0.05 <= self.evaluate_every <= 60:
            problems.append("--evaluate-every must be between 0.05 and 60 seconds")
        return problems


async def stop_task(task: asyncio.Task[None], timeout: float = 5.0) -> None:
    """Cancel until it ends: on Python 3.11 a cancel landing as an asyncio.timeout expires (the writer's
    wait, redis-py's sends) can be swallowed, and a single cancel would then wait forever."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not task.done() and loop.time() < deadline:
        task.cancel()
        await asyncio.wait({task}, timeout=0.02)
    if not task.done():
        log.error("health task %s did not stop within %.0f s; abandoning it", task.get_name(), timeout)
    elif not task.cancelled() and task.exception() is not None:
        log.error("health task %s had failed", task.get_name(), exc_info=task.exception())


def _reads(doc: StoredDoc) -> bool:
    """The documents a checker reads: what to probe, the health states and manual disables."""
    return doc.ref.kind in (HEALTH_KIND, ADMIN_KIND) or wanted(doc)


class Checker:
    def __init__(
        self,
        store: Store,
        settings: CheckerSettings,
        *,
        prober: Prober | None = None,
        follower: Follower | None = None,
    ) -> None:
        """`follower`: a running mirror of `store` to share (the node's), else the checker keeps its own."""
        self.settings = settings
        self._store = store
        self._own_follower = follower is None
        # Its own mirror holds only what the checker reads: a node's million static record sets
        # would otherwise be held a second time in a process that also serves DNS.
        self._follower = follower if follower is not None else Follower(store, block_ms=1000, keep=_reads)
        self._view = PolicyView()
        self.writer = VoteWriter(
            store,
            lambda: self._follower.docs,
            site=settings.site,
            valve_share=settings.valve_share,
            evaluate_every=settings.evaluate_every,
        )
        extra = {"prober": prober} if prober is not None else {}
        self.scheduler = Scheduler(
            self._on_result, max_in_flight=settings.max_in_flight, jitter=settings.jitter, **extra
        )
        self.states: dict[str, MemberState] = {}
        self.last: dict[str, ProbeOutcome] = {}
        self.probes_total: dict[tuple[str, bool], int] = {}
        self._writer_task: asyncio.Task[None] | None = None
        self._started = False
        self.latency_observer: Callable[[str, float], None] | None = None  # set by metrics

    @property
    def targets(self) -> Mapping[str, Target]:
        return self.scheduler.targets

    def stored_states(self) -> dict[str, dict[str, object]]:
        """The quorum states in the store (as this checker's mirror has them), by target key."""
        prefix = HEALTH_KIND + ":"
        return {
            key[len(prefix) :]: doc.body for key, doc in self._follower.docs.items() if key.startswith(prefix)
        }

    async def start(self) -> None:
        self._follower.add_listener(self._on_change)
        if self._own_follower:
            await self._follower.start()
        self._started = True
        await self._warm_start()
        self._refresh_plan()
        self._writer_task = asyncio.create_task(self.writer.run(), name="health-votes")
        log.info("health checker %r probing %d targets", self.settings.site, len(self.scheduler.targets))

    async def stop(self) -> None:
        await self.scheduler.stop()
        if self._writer_task is not None:
            await stop_task(self._writer_task)
            self._writer_task = None
        if self._own_follower:
            await self._follower.stop()
        elif self._started:
            self._follower.remove_listener(self._on_change)
        self._started = False

    async def wait_for(self, revision: int, timeout: float) -> None:
        await self._follower.wait_for(revision, timeout)

    async def _warm_start(self) -> None:
        self._view.reload(self._follower.docs, self._follower.rev)
        keys = list(plan_targets(self._view.policy).targets)
        votes = await self._store.get_votes_many(keys)
        mine = {}
        for key, by_site in votes.items():
            raw = by_site.get(self.settings.site)
            vote = Vote.from_json(raw) if raw is not None else None
            if vote is not None:
                mine[key] = vote
                self.states[key] = warm_state(vote.state)
        self.writer.warm(mine)
        if mine:
            log.info("warm start: resuming %d targets from this site's previous votes", len(mine))

    def _on_change(self, revision: int, changed: frozenset[str] | None) -> None:
        if not self._started:
            return
        docs = self._follower.docs
        if changed is None:
            self._view.reload(docs, revision)
            self._refresh_plan()
            return
        if self._view.apply(docs, changed, revision):
            self._refresh_plan()
        admin = [key.partition(":")[2] for key in changed if key.startswith(ADMIN_KIND + ":")]
        if admin:
            self.writer.touch(admin)

    def _refresh_plan(self) -> None:
        plan = plan_targets(self._view.policy)
        for key in [key for key in self.states if key not in plan.targets]:
            del self.states[key]
            self.last.pop(key, None)
        self.scheduler.update(plan.targets)
        self.writer.set_plan(plan)

    def _on_result(self, target: Target, outcome: ProbeOutcome) -> None:
        check = target.check
        before = self.states.get(target.key, MemberState())
        after = advance(before, ProbeResult(outcome.ok), rise=check.rise, fall=check.fall)
        self.states[target.key] = after
        self.last[target.key] = outcome
        counter = (check.type, outcome.ok)
        self.probes_total[counter] = self.probes_total.get(counter, 0) + 1
        if self.latency_observer is not None:
            self.latency_observer(check.type, outcome.seconds)
        if after.measured != before.measured:
            log.info(
                "site %s sees %s %s (%s)", self.settings.site, target.key, after.measured, outcome.reason
            )
        self.writer.observe(target.key, after.measured, outcome.seconds * 1000)
