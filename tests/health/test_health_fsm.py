"""The rise/fall state machine and the quorum rule: pure functions, table tests."""

from __future__ import annotations

import pytest

from health.fsm import Disable, Enable, MemberState, ProbeResult, advance, warm_state
from health.quorum import Vote, decide, downs_needed, vote_max_age

OK = ProbeResult(True)
BAD = ProbeResult(False)


def run(events: list, *, rise: int = 2, fall: int = 3, start: MemberState | None = None) -> list[str]:
    state = start or MemberState()
    seen = []
    for event in events:
        state = advance(state, event, rise=rise, fall=fall)
        seen.append(state.effective)
    return seen


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        # unknown becomes up after `rise` good probes, down after `fall` bad ones
        ([OK, OK], ["unknown", "up"]),
        ([BAD, BAD, BAD], ["unknown", "unknown", "down"]),
        # a failure resets the success count (and the other way round): hysteresis
        ([OK, BAD, OK, OK], ["unknown", "unknown", "unknown", "up"]),
        ([OK, OK, BAD, BAD, OK, BAD, BAD, BAD], ["unknown", "up", "up", "up", "up", "up", "up", "down"]),
        ([BAD, BAD, BAD, OK, OK], ["unknown", "unknown", "down", "down", "up"]),
        # disable is sticky while probes keep counting; enable returns to what was measured meanwhile
        (
            [OK, OK, Disable(), BAD, BAD, BAD, Enable()],
            ["unknown", "up", "disabled", *["disabled"] * 3, "down"],
        ),
        ([Disable(), OK, OK, Enable()], ["disabled", "disabled", "disabled", "up"]),
        ([Enable(), OK], ["unknown", "unknown"]),
    ],
)
def test_rise_fall_and_disable(events: list, expected: list[str]) -> None:
    assert run(events) == expected


def test_rise_and_fall_of_one() -> None:
    assert run([OK, BAD, OK], rise=1, fall=1) == ["up", "down", "up"]


def test_counts_are_capped() -> None:
    state = MemberState()
    for _ in range(1000):
        state = advance(state, OK, rise=2, fall=3)
    assert state == MemberState("up", 2, 0)
    state = advance(state, BAD, rise=2, fall=3)
    assert state == MemberState("up", 0, 1)


def test_warm_start_resumes_the_voted_state() -> None:
    assert warm_state("down") == MemberState("down")
    assert run([OK, OK], start=warm_state("down")) == ["down", "up"]
    assert run([BAD], start=warm_state("up")) == ["up"]
    assert warm_state("unknown") == MemberState()
    assert warm_state(None) == MemberState()


NOW = 1000.0


def votes(*states: str, age: float = 0.0) -> dict[str, Vote]:
    return {f"site{index}": Vote(state, NOW - age) for index, state in enumerate(states)}


@pytest.mark.parametrize(
    ("rule", "states", "expected"),
    [
        ("majority", ("up", "up", "down"), "up"),  # one broken site is outvoted
        ("majority", ("up", "down", "down"), "down"),
        ("majority", ("up", "down"), "up"),  # a tie is not a majority for down
        ("majority", ("down",), "down"),
        ("any", ("up", "up", "down"), "down"),
        ("any", ("up", "up", "up"), "up"),
        ("all", ("down", "down", "up"), "up"),
        ("all", ("down", "down", "down"), "down"),
        (2, ("down", "up", "up"), "up"),
        (2, ("down", "down", "up"), "down"),
        (3, ("down", "down"), "up"),  # fewer sites than N: never down
        ("majority", ("unknown", "unknown", "down"), "down"),  # undecided sites do not count
        ("majority", (), None),  # no vote: no decision
        ("majority", ("unknown",), None),
    ],
)
def test_quorum(rule: object, states: tuple[str, ...], expected: str | None) -> None:
    assert decide(votes(*states), rule=rule, now=NOW, max_age=3.0).state == expected  # type: ignore[arg-type]


def test_stale_votes_expire() -> None:
    mixed = {**votes("up", "up", age=10.0), "fresh": Vote("down", NOW - 1)}
    decision = decide(mixed, rule="majority", now=NOW, max_age=3.0)
    assert (decision.state, decision.up_votes, decision.down_votes) == ("down", 0, 1)
    assert decide(votes("down", age=3.5), rule="any", now=NOW, max_age=3.0).state is None
    # clock skew: a vote slightly from the future counts, one absurdly far ahead does not
    assert decide({"a": Vote("down", NOW + 1)}, rule="any", now=NOW, max_age=3.0).state == "down"
    assert decide({"a": Vote("down", NOW + 60)}, rule="any", now=NOW, max_age=3.0).state is None


def test_needed_and_max_age() -> None:
    assert [downs_needed("majority", n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]
    assert downs_needed("all", 0) == 1
    assert vote_max_age(0.25) == 1.0
    assert vote_max_age(10) == 30.0


def test_vote_json_round_trip_and_garbage() -> None:
    vote = Vote("up", 12.5, 0.25)
    assert Vote.from_json(vote.to_json()) == vote
    assert Vote.from_json({"state": "up"}) is None
    assert Vote.from_json({"state": "up", "ts": "soon"}) is None
