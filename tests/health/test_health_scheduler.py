"""The scheduler: first probes spread over the interval, bounded in flight, changed targets restarted."""

from __future__ import annotations

import asyncio
import time

from gslb.policy import parse_document
from health.probes.base import ProbeOutcome
from health.scheduler import Scheduler, Slots
from health.targets import Target


def targets(count: int, interval: float = 0.4, port: int = 80) -> dict[str, Target]:
    check = parse_document(
        "check",
        {"tenant": "a", "name": "c", "type": "tcp", "port": port, "interval": interval, "timeout": 0.05},
    )
    return {
        f"a/c/10.0.0.{i}": Target(f"a/c/10.0.0.{i}", "a", "c", check, f"10.0.0.{i}", port)
        for i in range(count)
    }


async def test_bounded_in_flight_and_spread_first_probes() -> None:
    running = 0
    peak = 0
    starts: list[float] = []
    results: list[str] = []

    async def slow_probe(target: Target) -> ProbeOutcome:  # stands in for a slow backend
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        starts.append(time.monotonic())
        await asyncio.sleep(0.05)
        running -= 1
        return ProbeOutcome(True, 0.05, "ok")

    scheduler = Scheduler(lambda t, _o: results.append(t.key), max_in_flight=3, jitter=0.1, prober=slow_probe)
    began = time.monotonic()
    scheduler.update(targets(12))
    await asyncio.sleep(0.3)
    first_wave = [start - began for start in starts]
    await asyncio.sleep(0.5)
    await scheduler.stop()
    assert peak == 3
    assert len(set(results)) == 12
    # spread over the first interval rather than all at once
    assert max(first_wave) - min(first_wave) > 0.1
    assert scheduler.in_flight == 0


async def test_update_restarts_changed_and_stops_removed_targets() -> None:
    seen: list[tuple[str, int]] = []

    async def instant(target: Target) -> ProbeOutcome:
        seen.append((target.key, target.port))
        return ProbeOutcome(True, 0.0, "ok")

    scheduler = Scheduler(lambda _t, _o: None, prober=instant)
    scheduler.update(targets(2, interval=0.1))
    await asyncio.sleep(0.25)
    scheduler.update({key: t for key, t in targets(1, interval=0.1, port=81).items()})
    seen.clear()
    await asyncio.sleep(0.25)
    await scheduler.stop()
    assert set(seen) == {("a/c/10.0.0.0", 81)}


async def test_slots_hand_over_in_order_and_survive_cancellation() -> None:
    slots = Slots(1)
    await slots.acquire()
    order: list[int] = []

    async def waiter(index: int) -> None:
        await slots.acquire()
        order.append(index)
        slots.release()

    tasks = [asyncio.create_task(waiter(i)) for i in range(4)]
    await asyncio.sleep(0.01)
    tasks[1].cancel()
    slots.release()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert order == [0, 2, 3]
    await asyncio.wait_for(slots.acquire(), 0.1)  # the slot came back
