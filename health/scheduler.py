"""Runs every target's probe on its own interval: spread out, jittered, with a bounded number in flight.

Each target gets one task. Its first probe comes at a random point of its first interval, so a
checker that starts (or loads a policy) with thousands of targets does not fire them in one burst;
later probes come every interval shortened by up to `jitter` of it (shortened only, so detection is
never slower than interval x fall). At most `max_in_flight` probes run at once; when the checker
cannot keep up, probes start late rather than piling up, and a late probe does not try to catch up.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from collections.abc import Awaitable, Callable, Mapping

from health.probes.base import ProbeOutcome, probe
from health.targets import Target

log = logging.getLogger(__name__)

ResultHandler = Callable[[Target, ProbeOutcome], None]
Prober = Callable[[Target], Awaitable[ProbeOutcome]]


class Slots:
    """A FIFO limit on probes in flight. Unlike asyncio.Semaphore (which removes each waiter from
    its queue, O(n)), a release hands its slot straight to the next waiter: O(1) with thousands of
    targets waiting on an overloaded checker."""

    def __init__(self, count: int) -> None:
        self._free = count
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed over just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


class Scheduler:
    def __init__(
        self,
        on_result: ResultHandler,
        *,
        max_in_flight: int = 1000,
        jitter: float = 0.1,
        prober: Prober = probe,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if not 0 <= jitter < 1:
            raise ValueError("jitter is a share of the interval: at least 0, below 1")
        self._on_result = on_result
        self._slots = Slots(max_in_flight)
        self._jitter = jitter
        self._prober = prober
        self._tasks: dict[str, tuple[Target, asyncio.Task[None]]] = {}
        self.in_flight = 0

    @property
    def targets(self) -> dict[str, Target]:
        return {key: target for key, (target, _task) in self._tasks.items()}

    def update(self, targets: Mapping[str, Target]) -> None:
        """Probe exactly `targets` from now on: start new ones, restart changed ones, stop the rest."""
        for key in list(self._tasks):
            current, task = self._tasks[key]
            if targets.get(key) != current:
                task.cancel()
                del self._tasks[key]
        for key, target in targets.items():
            if key not in self._tasks:
                task = asyncio.create_task(self._run(target), name=f"health-probe:{key}")
                self._tasks[key] = (target, task)

    async def stop(self) -> None:
        tasks = [task for _target, task in self._tasks.values()]
        self._tasks.clear()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        pending = set(tasks)
        while pending and loop.time() < deadline:  # re-cancel: see health.checker.stop_task
            for task in pending:
                task.cancel()
            _done, pending = await asyncio.wait(pending, timeout=0.05)

    async def _run(self, target: Target) -> None:
        loop = asyncio.get_running_loop()
        interval = target.check.interval
        next_at = loop.time() + random.uniform(0, interval)
        while True:
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._slots.acquire()
            self.in_flight += 1
            try:
                outcome = await self._prober(target)
            except Exception as exc:  # a failing prober fails this probe; the schedule goes on
                log.exception("probing %s failed unexpectedly", target.key)
                outcome = ProbeOutcome(False, 0.0, f"probe error: {type(exc).__name__}")
            finally:
                self.in_flight -= 1
                self._slots.release()
            try:
                self._on_result(target, outcome)
            except Exception:  # one bad result handler call must not stop this target's probes
                log.exception("handling the probe result of %s failed", target.key)
            next_at += interval * (1 - random.uniform(0, self._jitter))
            now = loop.time()
            if next_at < now:
                next_at = now
