"""Selection: rule order, subnet and geo matching, defaults, and the ECS scope of each decision."""

from __future__ import annotations

from engine_helpers import answer_texts, client, dynamic_answer, geo, pool, reply

from gslb.engine import select

ENTROPY = 0x0123_4567_89AB_CDEF

ROUTED = dynamic_answer(
    {
        "pools": {
            "office": pool("192.0.2.1"),
            "ca": pool("192.0.2.2"),
            "us": pool("192.0.2.3"),
            "na": pool("192.0.2.4"),
            "eu": pool("192.0.2.5"),
            "rest": pool("192.0.2.6"),
        },
        "rules": [
            {"subnets": ["10.1.0.0/16"], "pool": "office"},
            {"geos": ["NA-US-CA"], "pool": "ca"},
            {"geos": ["NA-US"], "pool": "us"},
            {"geos": ["NA"], "pool": "na"},
            {"geos": ["EU"], "subnets": ["2001:db8:e0::/48"], "pool": "eu"},
            {"pool": "rest"},
        ],
    }
)

CALIFORNIA = geo("NA", "US", "CA", prefix_len=20)


def pick(
    address: str, geo_info: object = None, source_prefix: int | None = 24
) -> tuple[int | None, str | None, int]:
    prefix = source_prefix if not address.count(":") else 56
    selection = select(ROUTED, client(address, geo_info, prefix), ENTROPY)  # type: ignore[arg-type]
    return selection.rule_index, selection.pool, selection.scope_prefix


def test_first_matching_rule_wins_and_subnets_are_tried_before_geos() -> None:
    assert pick("10.1.2.3", CALIFORNIA) == (0, "office", 16)


def test_geo_matches_at_subdivision_country_and_continent_level() -> None:
    assert pick("192.0.2.77", CALIFORNIA)[:2] == (1, "ca")
    assert pick("192.0.2.77", geo("NA", "US", "TX"))[:2] == (2, "us")
    assert pick("192.0.2.77", geo("NA", "US"))[:2] == (2, "us")
    assert pick("192.0.2.77", geo("NA", "CA", "QC"))[:2] == (3, "na")
    assert pick("192.0.2.77", geo("EU", "DE", "BE"))[:2] == (4, "eu")
    assert pick("192.0.2.77", geo("AS", "JP"))[:2] == (5, "rest")


def test_a_location_without_continent_is_completed_from_the_country() -> None:
    assert pick("192.0.2.77", geo(None, "US", "CA"))[:2] == (1, "ca")


def test_a_rule_matches_by_subnet_or_by_geo() -> None:
    assert pick("2001:db8:e0:1::1", geo("AS", "JP"))[:2] == (4, "eu")
    assert pick("2001:db8:e1::1", geo("EU", "FR"))[:2] == (4, "eu")


def test_selection_carries_the_answer_records() -> None:
    selection = select(ROUTED, client("192.0.2.77", CALIFORNIA, 24), ENTROPY)
    assert (selection.count, selection.ttl, selection.rdtype, selection.members) == (
        1,
        300,
        1,
        ("192.0.2.2",),
    )
    message = reply("www.example.com.", 1, selection.answer_wire, selection.count)
    assert answer_texts(message) == ["www.example.com. 300 IN A 192.0.2.2"]
    assert selection.reason == "rule 1 (geos NA-US-CA) matched geo NA-US-CA: pool ca"


# --- ECS scope ----------------------------------------------------------------------------------


def test_scope_of_a_matched_subnet_is_its_length_capped_at_the_source_prefix() -> None:
    assert pick("10.1.2.3", CALIFORNIA, source_prefix=24)[2] == 16
    assert pick("10.1.2.3", CALIFORNIA, source_prefix=12)[2] == 12


def test_scope_of_consulted_geo_rules_is_the_geoip_network_length() -> None:
    # The office subnet rule is consulted too: 192/8 differs from 10/8 in the first bit -> 1.
    assert pick("192.0.2.77", CALIFORNIA, source_prefix=24)[2] == 20
    assert pick("192.0.2.77", geo("AS", "JP", prefix_len=22), source_prefix=24)[2] == 22
    assert pick("192.0.2.77", geo("AS", "JP", prefix_len=22), source_prefix=21)[2] == 21


def test_scope_without_geo_data_is_the_whole_source_prefix() -> None:
    assert pick("192.0.2.77", None, source_prefix=24) == (5, "rest", 24)


def test_scope_of_unmatched_subnets_is_the_first_differing_bit() -> None:
    answer = dynamic_answer(
        {
            "pools": {"office": pool("192.0.2.1"), "rest": pool("192.0.2.2")},
            "rules": [{"subnets": ["10.1.0.0/16", "10.1.8.0/21"], "pool": "office"}, {"pool": "rest"}],
        }
    )
    # 10.3.x.x shares 14 bits with 10.1.0.0: any address sharing 15 bits gets the same answer.
    assert select(answer, client("10.3.0.1", None, 24), ENTROPY).scope_prefix == 15
    assert select(answer, client("192.0.2.1", None, 24), ENTROPY).scope_prefix == 1
    assert select(answer, client("10.1.7.1", None, 24), ENTROPY).scope_prefix == 16
    assert select(answer, client("10.3.0.1", None, 8), ENTROPY).scope_prefix == 8
    # An IPv6 client consults no IPv4 subnet: nothing about its address mattered.
    assert select(answer, client("2001:db8::1", None, 56), ENTROPY).scope_prefix == 0


def test_scope_of_a_lone_catch_all_is_zero() -> None:
    answer = dynamic_answer({"pools": {"p": pool("192.0.2.1", "192.0.2.2")}, "rules": [{"pool": "p"}]})
    selection = select(answer, client("192.0.2.9", CALIFORNIA, 24), ENTROPY)
    assert (selection.rule_index, selection.scope_prefix) == (0, 0)
    assert selection.reason == "rule 0 (catch-all): pool p"


def test_scope_takes_the_maximum_over_everything_consulted() -> None:
    answer = dynamic_answer(
        {
            "pools": {"office": pool("192.0.2.1"), "eu": pool("192.0.2.2"), "rest": pool("192.0.2.3")},
            "rules": [
                {"subnets": ["10.1.0.0/16"], "pool": "office"},
                {"geos": ["EU"], "pool": "eu"},
                {"pool": "rest"},
            ],
        }
    )
    assert select(answer, client("10.3.0.1", geo("AS", "JP", prefix_len=12), 24), ENTROPY).scope_prefix == 15
    assert select(answer, client("10.3.0.1", geo("AS", "JP", prefix_len=19), 24), ENTROPY).scope_prefix == 19


# --- no rule matches ----------------------------------------------------------------------------


def test_no_matching_rule_answers_the_static_values() -> None:
    answer = dynamic_answer(
        {"pools": {"eu": pool("192.0.2.5")}, "rules": [{"geos": ["EU"], "pool": "eu"}]},
        values=["198.51.100.1", "198.51.100.2"],
    )
    selection = select(answer, client("192.0.2.77", geo("AS", "JP"), 24), ENTROPY)
    assert (selection.rule_index, selection.pool) == (None, None)
    assert selection.members == ("198.51.100.1", "198.51.100.2")
    assert selection.scope_prefix == 20
    assert "static values" in selection.reason
    assert select(answer, client("192.0.2.77", geo("EU", "FR"), 24), ENTROPY).pool == "eu"


def test_no_matching_rule_without_static_values_answers_as_the_first_rule() -> None:
    answer = dynamic_answer(
        {
            "pools": {"eu": pool("192.0.2.5", fallback="us"), "us": pool("192.0.2.6")},
            "rules": [{"geos": ["EU"], "pool": "eu"}, {"geos": ["NA"], "pool": "us"}],
        },
        health={"acme/web/192.0.2.5": False},
    )
    selection = select(answer, client("192.0.2.77", geo("AS", "JP"), 24), ENTROPY)
    assert (selection.rule_index, selection.pool, selection.members) == (None, "us", ("192.0.2.6",))
    assert selection.reason.startswith("no rule matched: as rule 0 (geos EU)")
    assert "fell back from eu" in selection.reason


# --- record types -------------------------------------------------------------------------------


def test_cname_answers_one_target_whatever_max_answers_says() -> None:
    answer = dynamic_answer(
        {
            "pools": {"p": {"values": [{"value": "a.cdn.example.net."}, {"value": "b.cdn.example.net."}]}},
            "rules": [{"pool": "p"}],
            "max_answers": None,
        },
        rdtype="CNAME",
    )
    selection = select(answer, client("192.0.2.1"), ENTROPY)
    assert selection.count == 1
    assert answer_texts(reply("www.example.com.", 5, selection.answer_wire, 1)) == [
        f"www.example.com. 300 IN CNAME {selection.members[0]}"
    ]


def test_aaaa_members() -> None:
    answer = dynamic_answer(
        {"pools": {"p": {"values": [{"value": "2001:db8::1"}]}}, "rules": [{"pool": "p"}]}, rdtype="AAAA"
    )
    selection = select(answer, client("2001:db8::99", None, 56), ENTROPY)
    assert answer_texts(reply("www.example.com.", 28, selection.answer_wire, 1)) == [
        "www.example.com. 300 IN AAAA 2001:db8::1"
    ]
