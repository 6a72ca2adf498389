"""Selection by weight: distributions, distinct multi-answers, and sticky consistent hashing."""

from __future__ import annotations

import random
from collections import Counter
from ipaddress import IPv4Address
from typing import Any

from engine_helpers import answer_texts, client, dynamic_answer, reply

from gslb.engine import DynamicAnswer, query_entropy, select, sticky_entropy
from gslb.policy import StickySpec

WEIGHTS = {"192.0.2.1": 1, "192.0.2.2": 3, "192.0.2.3": 6}
SAMPLES = 10_000


def weighted(
    max_answers: int | None = 1, sticky: dict[str, int] | None = None, **kwargs: Any
) -> DynamicAnswer:
    spec: dict[str, Any] = {
        "pools": {
            "p": {
                "values": [
                    {"value": value, "weight": weight, "health_check": "web"}
                    for value, weight in WEIGHTS.items()
                ]
            }
        },
        "rules": [{"pool": "p"}],
        "max_answers": max_answers,
    }
    if sticky is not None:
        spec["sticky"] = sticky
    return dynamic_answer(spec, **kwargs)


def decoded_values(wire: bytes, count: int) -> list[str]:
    return [record.rsplit(" ", 1)[1] for record in answer_texts(reply("www.example.com.", 1, wire, count))]


def assert_shares(counts: Counter[str], total: int) -> None:
    weight_sum = sum(WEIGHTS.values())
    for value, weight in WEIGHTS.items():
        assert abs(counts[value] / total - weight / weight_sum) <= 0.03, (value, counts)


def test_single_answers_follow_the_weights() -> None:
    answer = weighted()
    rng = random.Random(7)
    someone = client("192.0.2.200", None, 24)
    counts = Counter(select(answer, someone, rng.getrandbits(64)).members[0] for _ in range(SAMPLES))
    assert_shares(counts, SAMPLES)


def test_max_answers_gives_distinct_members_weighted_first() -> None:
    answer = weighted(max_answers=2)
    rng = random.Random(8)
    someone = client("192.0.2.200", None, 24)
    firsts: Counter[str] = Counter()
    pairs: Counter[tuple[str, ...]] = Counter()
    for index in range(SAMPLES):
        selection = select(answer, someone, rng.getrandbits(64))
        assert selection.count == 2 and len(set(selection.members)) == 2
        if index < 100:  # decoding is slow; the records are the same bytes every time
            assert decoded_values(selection.answer_wire, selection.count) == list(selection.members)
        firsts[selection.members[0]] += 1
        pairs[selection.members] += 1
    assert_shares(firsts, SAMPLES)
    # Without replacement: the second is drawn by weight from the members left after the first.
    total = sum(WEIGHTS.values())
    for (first, second), count in pairs.items():
        expected = WEIGHTS[first] / total * WEIGHTS[second] / (total - WEIGHTS[first])
        assert abs(count / SAMPLES - expected) <= 0.02, (first, second, pairs)
    assert len(pairs) == 6


def test_all_members_when_max_answers_is_null_or_not_smaller_than_the_pool() -> None:
    rng = random.Random(9)
    someone = client("192.0.2.200", None, 24)
    for answer in (weighted(max_answers=None), weighted(max_answers=5)):
        firsts: Counter[str] = Counter()
        for index in range(SAMPLES):
            selection = select(answer, someone, rng.getrandbits(64))
            assert sorted(selection.members) == sorted(WEIGHTS)
            if index < 100:
                assert decoded_values(selection.answer_wire, selection.count) == list(selection.members)
            firsts[selection.members[0]] += 1
        assert_shares(firsts, SAMPLES)


def sticky_pick(answer: DynamicAnswer, address: str) -> tuple[str, ...]:
    parsed = IPv4Address(address)
    assert answer.sticky is not None
    return select(answer, client(address, None, 32), sticky_entropy(answer.sticky, parsed)).members


def subnets(count: int) -> list[str]:
    return [str(IPv4Address(0x0A000000 + (index << 8))) for index in range(count)]


def test_sticky_answers_are_the_same_within_a_subnet_and_spread_by_weight() -> None:
    answer = weighted(sticky={"ipv4_prefix": 24})
    counts: Counter[str] = Counter()
    for network in subnets(5000):
        first = sticky_pick(answer, network)
        host = str(IPv4Address(network) + 200)
        assert sticky_pick(answer, host) == first
        counts[first[0]] += 1
    assert_shares(counts, 5000)


def test_removing_a_member_moves_only_its_clients() -> None:
    before = weighted(sticky={"ipv4_prefix": 24})
    after = weighted(sticky={"ipv4_prefix": 24}, health={"acme/web/192.0.2.3": False})
    moved = 0
    for network in subnets(3000):
        old, new = sticky_pick(before, network), sticky_pick(after, network)
        if old == ("192.0.2.3",):
            assert new != old
            moved += 1
        else:
            assert new == old
    assert moved > 1000  # the member had 60% of the weight


def test_removing_a_member_keeps_multi_answers_that_did_not_include_it() -> None:
    many = {f"192.0.2.{index}": 1 + index % 3 for index in range(1, 7)}
    spec = {
        "pools": {
            "p": {"values": [{"value": v, "weight": w, "health_check": "web"} for v, w in many.items()]}
        },
        "rules": [{"pool": "p"}],
        "max_answers": 2,
        "sticky": {"ipv4_prefix": 24},
    }
    before = dynamic_answer(spec)
    after = dynamic_answer(spec, health={"acme/web/192.0.2.4": False})
    for network in subnets(1000):
        old, new = set(sticky_pick(before, network)), set(sticky_pick(after, network))
        if "192.0.2.4" in old:
            assert old - {"192.0.2.4"} <= new and "192.0.2.4" not in new
        else:
            assert new == old


def test_sticky_entropy_is_stable_and_ignores_host_bits() -> None:
    spec = StickySpec(ipv4_prefix=24, ipv6_prefix=56)
    # Pinned: sticky answers must agree across nodes, restarts and Python versions (no salted hash()).
    assert sticky_entropy(spec, IPv4Address("198.51.100.7")) == 0x8853_2572_9FEA_2572
    assert sticky_entropy(spec, IPv4Address("198.51.100.250")) == sticky_entropy(
        spec, IPv4Address("198.51.100.7")
    )
    assert sticky_entropy(spec, IPv4Address("198.51.101.7")) != sticky_entropy(
        spec, IPv4Address("198.51.100.7")
    )
    wider = StickySpec(ipv4_prefix=16, ipv6_prefix=56)
    assert sticky_entropy(wider, IPv4Address("198.51.101.7")) == sticky_entropy(
        wider, IPv4Address("198.51.100.7")
    )


def test_query_entropy_hashes_only_for_sticky_answers() -> None:
    address = IPv4Address("198.51.100.7")
    sticky = weighted(sticky={"ipv4_prefix": 24})
    assert sticky.sticky is not None
    assert query_entropy(sticky, address, 5) == sticky_entropy(sticky.sticky, address)
    assert query_entropy(weighted(), address, 5) == 5


def test_sticky_scope_is_the_sticky_prefix_capped_at_the_source() -> None:
    answer = weighted(sticky={"ipv4_prefix": 24, "ipv6_prefix": 48})
    assert select(answer, client("198.51.100.7", None, 32), 1).scope_prefix == 24
    assert select(answer, client("198.51.100.7", None, 20), 1).scope_prefix == 20
    assert select(answer, client("2001:db8::1", None, 56), 1).scope_prefix == 48
