"""Selection under health: fallback chains, the three on_all_down modes, and nearest pools."""

from __future__ import annotations

from typing import Any

import pytest
from engine_helpers import ASHBURN, FRANKFURT, TOKYO, client, dynamic_answer, geo, pool

from gslb.engine import DynamicAnswer, Selection, member_health_key, select

ENTROPY = 0x0123_4567_89AB_CDEF


def down(*targets: str) -> dict[str, bool]:
    return {member_health_key("acme", "web", target): False for target in targets}


def chained(health: dict[str, bool], **extra: Any) -> DynamicAnswer:
    return dynamic_answer(
        {
            "pools": {
                "a": pool("192.0.2.1", "192.0.2.2", fallback="b"),
                "b": pool("192.0.2.3", fallback="c"),
                "c": pool("192.0.2.4"),
                "sorry": pool("198.51.100.9"),
            },
            "rules": [{"pool": "a"}],
            "max_answers": None,
            **extra,
        },
        health=health,
    )


def answer(health: dict[str, bool], **extra: Any) -> Selection:
    return select(chained(health, **extra), client("192.0.2.200", None, 24), ENTROPY)


def test_healthy_pool_answers_its_healthy_members() -> None:
    selection = answer(down("192.0.2.2"))
    assert (selection.pool, selection.members) == ("a", ("192.0.2.1",))
    assert selection.reason == "rule 0 (catch-all): pool a"


def test_fallback_chain_is_followed_past_pools_without_a_healthy_member() -> None:
    assert answer(down("192.0.2.1", "192.0.2.2")).pool == "b"
    selection = answer(down("192.0.2.1", "192.0.2.2", "192.0.2.3"))
    assert (selection.pool, selection.members) == ("c", ("192.0.2.4",))
    assert "pool c (fell back from a, b: no healthy member)" in selection.reason


ALL_DOWN = down("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "198.51.100.9")


def test_all_down_fail_open_answers_the_first_pool_regardless_of_health() -> None:
    selection = answer(ALL_DOWN)
    assert selection.pool == "a"
    assert sorted(selection.members) == ["192.0.2.1", "192.0.2.2"]
    assert "fail_open" in selection.reason


def test_all_down_fail_closed_answers_no_data() -> None:
    selection = answer(ALL_DOWN, on_all_down="fail_closed")
    assert (selection.answer_wire, selection.count, selection.pool, selection.members) == (b"", 0, None, ())
    assert "fail_closed" in selection.reason


def test_all_down_fallback_pool_answers_that_pool_regardless_of_health() -> None:
    selection = answer(ALL_DOWN, on_all_down="fallback_pool", all_down_pool="sorry")
    assert (selection.pool, selection.members) == ("sorry", ("198.51.100.9",))
    assert "fallback_pool" in selection.reason


@pytest.mark.parametrize("mode", ["fail_open", "fail_closed"])
def test_on_all_down_does_not_apply_while_a_pool_is_healthy(mode: str) -> None:
    assert answer(down("192.0.2.1", "192.0.2.2"), on_all_down=mode).pool == "b"


# --- nearest ------------------------------------------------------------------------------------


def nearest(health: dict[str, bool] | None = None, **extra: Any) -> DynamicAnswer:
    return dynamic_answer(
        {
            "pools": {
                "us": pool("192.0.2.1", location=ASHBURN),
                "eu": pool("192.0.2.2", location=FRANKFURT),
                "asia": pool("192.0.2.3", "192.0.2.4", location=TOKYO),
            },
            "rules": [{"nearest": ["us", "eu", "asia"]}],
            "max_answers": None,
            **extra,
        },
        health=health,
    )


IN_TOKYO = geo("AS", "JP", "13", location=(35.69, 139.75), prefix_len=18)


def test_a_client_in_tokyo_gets_the_asia_pool_then_the_next_nearest() -> None:
    selection = select(nearest(), client("203.0.113.5", IN_TOKYO, 24), ENTROPY)
    assert (selection.rule_index, selection.pool) == (0, "asia")
    assert selection.scope_prefix == 18
    assert "nearest: asia < eu < us" in selection.reason
    # Frankfurt (~9,300 km) is nearer to Tokyo than Ashburn (~10,900 km).
    assert (
        select(nearest(down("192.0.2.3", "192.0.2.4")), client("203.0.113.5", IN_TOKYO, 24), ENTROPY).pool
        == "eu"
    )
    both = nearest(down("192.0.2.3", "192.0.2.4", "192.0.2.2"))
    assert select(both, client("203.0.113.5", IN_TOKYO, 24), ENTROPY).pool == "us"


def test_nearest_without_coordinates_keeps_the_listed_order() -> None:
    no_coordinates = geo("AS", "JP", prefix_len=16)
    selection = select(nearest(), client("203.0.113.5", no_coordinates, 24), ENTROPY)
    assert (selection.pool, selection.scope_prefix) == ("us", 16)
    unknown = select(nearest(), client("203.0.113.5", None, 24), ENTROPY)
    assert (unknown.pool, unknown.scope_prefix) == ("us", 24)


def test_nearest_all_down_fails_open_to_the_nearest_candidate() -> None:
    everything = down("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4")
    selection = select(nearest(everything), client("203.0.113.5", IN_TOKYO, 24), ENTROPY)
    assert selection.pool == "asia"
    assert sorted(selection.members) == ["192.0.2.3", "192.0.2.4"]
    closed = select(
        nearest(everything, on_all_down="fail_closed"), client("203.0.113.5", IN_TOKYO, 24), ENTROPY
    )
    assert closed.count == 0


def test_nearest_candidates_fall_back_along_their_chains_when_no_candidate_is_healthy() -> None:
    answer = dynamic_answer(
        {
            "pools": {
                "eu": pool("192.0.2.2", location=FRANKFURT, fallback="spare"),
                "asia": pool("192.0.2.3", location=TOKYO, fallback="spare"),
                "spare": pool("192.0.2.9"),
            },
            "rules": [{"nearest": ["eu", "asia"]}],
        },
        health=down("192.0.2.2", "192.0.2.3"),
    )
    selection = select(answer, client("203.0.113.5", IN_TOKYO, 24), ENTROPY)
    assert selection.pool == "spare"
    assert "fell back from asia" in selection.reason


def test_a_single_nearest_candidate_does_not_depend_on_the_client() -> None:
    answer = dynamic_answer(
        {"pools": {"eu": pool("192.0.2.2", location=FRANKFURT)}, "rules": [{"nearest": ["eu"]}]}
    )
    assert select(answer, client("203.0.113.5", IN_TOKYO, 24), ENTROPY).scope_prefix == 0
