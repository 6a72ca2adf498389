"""The safety valve (pure): a burst of failures across one record's members is suspicious.

When more than `share` of a dynamic record's checked members (and at least two) fail within one
burst window, a broken checker or network is likelier than that many backends dying together. The
record's `on_all_down` then decides: `fail_open` holds the failing members in their last state, `up`
(the DNS keeps answering them, as fail_open would answer them all); `fail_closed` and
`fallback_pool` let the failures through, so the engine does what the record asks for when nothing
is healthy. Either way the trip is reported, and the checker logs it loudly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from health.targets import ValveGroup


@dataclass(frozen=True, slots=True)
class Stored:
    """A target's state as stored: what DNS uses, what the quorum measured, since when."""

    state: str  # up | down | disabled
    measured: str | None
    since: float


@dataclass(frozen=True, slots=True)
class Trip:
    group: str
    failing: tuple[str, ...]
    members: int
    on_all_down: str
    held: bool


def evaluate_valve(
    groups: Iterable[ValveGroup],
    measured: Mapping[str, str | None],
    stored: Mapping[str, Stored],
    *,
    now: float,
    share: float,
) -> tuple[frozenset[str], tuple[Trip, ...]]:
    """Keys to hold up, and the groups that tripped. `measured` is each key's current quorum result."""
    held: set[str] = set()
    trips = []
    for group in groups:
        burst = []
        for key in group.keys:
            if measured.get(key) != "down":
                continue
            before = stored.get(key)
            # Down for longer than the window: an accepted, older failure, not part of this burst.
            if before is not None and before.state == "down" and before.since < now - group.window:
                continue
            burst.append(key)
        if len(burst) >= 2 and len(burst) > share * len(group.keys):
            hold = group.on_all_down == "fail_open"
            if hold:
                held.update(burst)
            trips.append(Trip(group.name, tuple(burst), len(group.keys), group.on_all_down, hold))
    return frozenset(held), tuple(trips)
