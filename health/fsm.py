"""The per-site health state machine: rise/fall hysteresis and a manual disable, as one pure function.

A site's view of one target starts `unknown` (or at the state it persisted, on a warm start) and
moves to `up` after `rise` consecutive good probes and to `down` after `fall` consecutive bad ones.
Counting goes on while the target is disabled, so enabling it returns straight to what was measured.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Measured = Literal["unknown", "up", "down"]
Effective = Literal["unknown", "up", "down", "disabled"]


@dataclass(frozen=True, slots=True)
class MemberState:
    measured: Measured = "unknown"
    successes: int = 0  # consecutive, capped at rise
    failures: int = 0  # consecutive, capped at fall
    disabled: bool = False

    @property
    def effective(self) -> Effective:
        return "disabled" if self.disabled else self.measured


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool


@dataclass(frozen=True, slots=True)
class Disable:
    pass


@dataclass(frozen=True, slots=True)
class Enable:
    pass


Event = ProbeResult | Disable | Enable


def advance(state: MemberState, event: Event, *, rise: int, fall: int) -> MemberState:
    """The state after `event`. rise and fall are at least 1 (the policy model guarantees it)."""
    if isinstance(event, Disable):
        return replace(state, disabled=True)
    if isinstance(event, Enable):
        return replace(state, disabled=False)
    if event.ok:
        successes = min(state.successes + 1, rise)
        measured: Measured = "up" if successes >= rise else state.measured
        return MemberState(measured, successes, 0, state.disabled)
    failures = min(state.failures + 1, fall)
    measured = "down" if failures >= fall else state.measured
    return MemberState(measured, 0, failures, state.disabled)


def warm_state(measured: str | None) -> MemberState:
    """Where a restarted site starts: the state it voted last, so it never re-learns from nothing."""
    if measured in ("up", "down"):
        return MemberState(measured)  # type: ignore[arg-type]
    return MemberState()
