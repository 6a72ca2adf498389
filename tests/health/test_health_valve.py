"""The safety valve (pure): a burst of failures across a record's members is held under fail_open."""

from __future__ import annotations

import pytest

from health.targets import ValveGroup
from health.valve import Stored, evaluate_valve

NOW = 100.0
KEYS = ("a", "b", "c", "d")


def group(on_all_down: str = "fail_open") -> ValveGroup:
    return ValveGroup("rrset:example.test./www/A", KEYS, on_all_down, window=2.0)


@pytest.mark.parametrize(
    ("down", "stored", "held"),
    [
        ({"a"}, {}, set()),  # one of four: an ordinary failure
        ({"a", "b"}, {}, set()),  # half is not more than half
        ({"a", "b", "c"}, {}, {"a", "b", "c"}),  # a burst: held
        # a member down for longer than the window is an old, accepted failure: not part of the burst
        ({"a", "b", "c"}, {"a": Stored("down", "down", NOW - 10)}, set()),
        # ...but one that went down inside the window is
        ({"a", "b", "c"}, {"a": Stored("down", "down", NOW - 1)}, {"a", "b", "c"}),
        # held members stay in the burst (stored up), so a lasting mass failure stays held
        ({"a", "b", "c"}, {k: Stored("up", "down", NOW - 60) for k in "abc"}, {"a", "b", "c"}),
    ],
)
def test_burst_is_held_under_fail_open(down: set[str], stored: dict[str, Stored], held: set[str]) -> None:
    measured = {key: "down" if key in down else "up" for key in KEYS}
    result, trips = evaluate_valve([group()], measured, stored, now=NOW, share=0.5)
    assert result == held
    assert len(trips) == (1 if held else 0)


@pytest.mark.parametrize("policy", ["fail_closed", "fallback_pool"])
def test_other_policies_trip_but_let_failures_through(policy: str) -> None:
    measured = {key: "down" for key in KEYS}
    held, trips = evaluate_valve([group(policy)], measured, {}, now=NOW, share=0.5)
    assert held == frozenset()
    assert [(t.failing, t.members, t.on_all_down, t.held) for t in trips] == [(KEYS, 4, policy, False)]


def test_share_one_turns_the_valve_off_and_single_members_never_trip() -> None:
    measured = dict.fromkeys(KEYS, "down")
    assert evaluate_valve([group()], measured, {}, now=NOW, share=1.0) == (frozenset(), ())
    single = ValveGroup("rrset:x./y/A", ("a",), "fail_open", 2.0)
    assert evaluate_valve([single], {"a": "down"}, {}, now=NOW, share=0.1) == (frozenset(), ())
