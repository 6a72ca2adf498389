"""Weighted Maglev: proportional slots, minimal disruption, determinism, clear errors."""

from __future__ import annotations

from collections import Counter

import pytest

from bpf.maglev import EMPTY, maglev_table

SIZE = 65537


def _shares(table: list[int], count: int) -> list[float]:
    counts = Counter(table)
    return [counts[i] / len(table) for i in range(count)]


def test_equal_weights_split_evenly() -> None:
    reals = [(f"10.0.0.{i}", 100) for i in range(1, 6)]
    for share in _shares(maglev_table(reals, SIZE), 5):
        assert abs(share - 0.2) < 0.002


def test_slots_follow_weights() -> None:
    reals = [("10.0.0.1", 100), ("10.0.0.2", 200), ("10.0.0.3", 300), ("10.0.0.4", 0)]
    shares = _shares(maglev_table(reals, SIZE), 4)
    for share, expected in zip(shares, (1 / 6, 2 / 6, 3 / 6, 0), strict=True):
        assert abs(share - expected) < 0.002


def test_input_order_does_not_matter() -> None:
    reals = [("10.0.0.1", 1), ("10.0.0.2", 2), ("10.0.0.3", 3)]
    forward = maglev_table(reals, 4099)
    backward = maglev_table(list(reversed(reals)), 4099)
    assert [reals[i][0] for i in forward] == [reals[::-1][i][0] for i in backward]


@pytest.mark.parametrize("count", [3, 5, 10])
def test_removing_a_real_moves_little_else(count: int) -> None:
    reals = [(f"10.0.1.{i}", 100) for i in range(count)]
    before = [reals[i][0] for i in maglev_table(reals, SIZE)]
    removed = reals[1][0]
    rest = [r for r in reals if r[0] != removed]
    after = [rest[i][0] for i in maglev_table(rest, SIZE)]
    others = [(b, a) for b, a in zip(before, after, strict=True) if b != removed]
    moved = sum(1 for b, a in others if b != a) / len(others)
    assert moved <= 1 / count + 0.05, moved
    assert all(a != removed for a in after)


def test_marking_a_real_down_only_moves_its_slots_plus_a_few() -> None:
    reals = [("10.0.2.1", 100), ("10.0.2.2", 100), ("10.0.2.3", 100)]
    before = maglev_table(reals, SIZE)
    after = maglev_table([("10.0.2.1", 100), ("10.0.2.2", 0), ("10.0.2.3", 100)], SIZE)
    others = [(b, a) for b, a in zip(before, after, strict=True) if b != 1]
    assert sum(1 for b, a in others if b != a) / len(others) <= 1 / 3 + 0.05
    assert 1 not in after


def test_no_positive_weight_gives_an_empty_table() -> None:
    assert set(maglev_table([("10.0.0.1", 0)], 251)) == {EMPTY}
    assert set(maglev_table([], 251)) == {EMPTY}


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="not prime"):
        maglev_table([("a", 1)], 100)
    with pytest.raises(ValueError, match="distinct"):
        maglev_table([("a", 1), ("a", 2)], 251)
    with pytest.raises(ValueError, match=">= 0"):
        maglev_table([("a", -1)], 251)
