"""Rise/fall hysteresis of the local DNS self-check, as a pure step function.

The first result decides at once (a node that just started announces as soon as its DNS server
answers, and never announces before); after that `fall` consecutive failures take it down and
`rise` consecutive successes bring it back, so one lost packet does not flap a route.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hysteresis:
    up: bool | None = None  # None: no result yet
    streak: int = 0  # consecutive results disagreeing with `up`


def step(state: Hysteresis, ok: bool, *, rise: int, fall: int) -> Hysteresis:
    if state.up is None:
        return Hysteresis(up=ok)
    if ok == state.up:
        return Hysteresis(up=state.up)
    streak = state.streak + 1
    if streak >= (rise if ok else fall):
        return Hysteresis(up=ok)
    return Hysteresis(up=state.up, streak=streak)
