"""The state every node uses: a quorum over the fresh votes of the checker sites (pure).

The quorum rule says how many sites must see a target down before it is down: `any` (one site is
enough; most sensitive), `majority` (more than half of the fresh votes), `all` (every fresh vote),
or a number N (at least N sites; with fewer fresh sites than N it never goes down). Votes older than
`max_age` are ignored, so a checker that died or lost its store connection stops counting; a site
that has not made up its mind yet (`unknown`) does not count either. With no fresh vote at all there
is no decision and the stored state stays as it is (known health beats no health).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

QuorumRule = Literal["any", "majority", "all"] | int
Decided = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class Vote:
    state: str  # "up", "down" or "unknown"
    ts: float  # wall-clock time the site last confirmed this state
    latency_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"state": self.state, "ts": round(self.ts, 3)}
        if self.latency_ms is not None:
            body["latency_ms"] = round(self.latency_ms, 3)
        return body

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Vote | None:
        """A vote, or None for one that is unreadable (written by something else): it is ignored."""
        try:
            latency = data.get("latency_ms")
            return cls(str(data["state"]), float(data["ts"]), None if latency is None else float(latency))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class Decision:
    state: Decided | None  # None: no fresh vote, keep what is stored
    up_votes: int
    down_votes: int
    needed: int  # down votes needed to be down


def downs_needed(rule: QuorumRule, fresh: int) -> int:
    if rule == "any":
        return 1
    if rule == "majority":
        return fresh // 2 + 1
    if rule == "all":
        return max(fresh, 1)
    return int(rule)


def decide(votes: Mapping[str, Vote], *, rule: QuorumRule, now: float, max_age: float) -> Decision:
    # A vote from the future (clock skew between sites) is fresh as long as it is not absurdly so.
    fresh = [
        vote.state
        for vote in votes.values()
        if vote.state in ("up", "down") and now - max_age <= vote.ts <= now + max_age
    ]
    up = fresh.count("up")
    down = len(fresh) - up
    needed = downs_needed(rule, len(fresh))
    if not fresh:
        return Decision(None, 0, 0, needed)
    return Decision("down" if down >= needed else "up", up, down, needed)


def vote_max_age(interval: float, *, intervals: float = 3.0, floor: float = 1.0) -> float:
    """How long a vote counts: a few probe intervals (sites refresh their votes well within that)."""
    return max(interval * intervals, floor)
