"""Compiling zones: answers decoded back with dnspython, SOA, referrals, wildcards, recompile."""

from __future__ import annotations

import dns.message
import dns.rdatatype
from engine_helpers import BASE, ZONE, answer_texts, compiled, policy, reply, rrset

from gslb.engine import (
    DynamicAnswer,
    StaticAnswer,
    ZoneSnapshot,
    compile_policy,
    member_health_key,
    recompile,
)
from gslb.engine.wire import encode_name
from gslb.policy import PolicySet, parse_document


def zone_of(*docs: tuple[str, dict], **kwargs: object) -> ZoneSnapshot:
    snapshot = compiled(*docs, **kwargs)  # type: ignore[arg-type]
    return snapshot.zones[ZONE]


def static(zone: ZoneSnapshot, owner: str, rdtype: str) -> StaticAnswer:
    answer = zone.nodes[owner].rrsets[dns.rdatatype.from_text(rdtype)]
    assert isinstance(answer, StaticAnswer)
    return answer


def decoded(zone: ZoneSnapshot, owner: str, rdtype: str) -> list[str]:
    answer = static(zone, owner, rdtype)
    return answer_texts(reply(owner, answer.rdtype, answer.answer_wire, answer.count))


ALL_TYPES = (
    rrset("www", "A", ["192.0.2.1", "192.0.2.2"]),
    rrset("www", "AAAA", ["2001:db8::1"], ttl=60),
    rrset("alias", "CNAME", ["www.example.com."]),
    rrset(
        "@",
        "MX",
        [
            {"preference": 20, "exchange": "mx2.example.com."},
            {"preference": 10, "exchange": "mx1.example.com."},
        ],
    ),
    rrset("@", "TXT", ["v=spf1 -all", "long=" + "x" * 300]),
    rrset("_sip._udp", "SRV", [{"priority": 10, "weight": 5, "port": 5060, "target": "sip.example.com."}]),
    rrset("@", "CAA", [{"flags": 0, "tag": "issue", "value": "letsencrypt.org"}]),
    rrset("1.2", "PTR", ["host.example.com."]),
    rrset("_443._tcp.www", "TLSA", ["3 1 1 " + "ab" * 32]),
    rrset("sip", "NAPTR", ['10 100 "s" "SIP+D2U" "" _sip._udp.example.com.']),
)


def test_static_answers_decode_to_the_declared_records_in_order() -> None:
    zone = zone_of(*ALL_TYPES)
    assert decoded(zone, "www.example.com.", "A") == [
        "www.example.com. 300 IN A 192.0.2.1",
        "www.example.com. 300 IN A 192.0.2.2",
    ]
    assert decoded(zone, "www.example.com.", "AAAA") == ["www.example.com. 60 IN AAAA 2001:db8::1"]
    assert decoded(zone, "alias.example.com.", "CNAME") == [
        "alias.example.com. 300 IN CNAME www.example.com."
    ]
    assert decoded(zone, ZONE, "MX") == [
        "example.com. 300 IN MX 20 mx2.example.com.",
        "example.com. 300 IN MX 10 mx1.example.com.",
    ]
    assert decoded(zone, ZONE, "TXT") == [
        'example.com. 300 IN TXT "v=spf1 -all"',
        f'example.com. 300 IN TXT "long={"x" * 250}" "{"x" * 50}"',
    ]
    assert decoded(zone, "_sip._udp.example.com.", "SRV") == [
        "_sip._udp.example.com. 300 IN SRV 10 5 5060 sip.example.com."
    ]
    assert decoded(zone, ZONE, "CAA") == ['example.com. 300 IN CAA 0 issue "letsencrypt.org"']
    assert decoded(zone, "1.2.example.com.", "PTR") == ["1.2.example.com. 300 IN PTR host.example.com."]
    assert decoded(zone, "_443._tcp.www.example.com.", "TLSA") == [
        "_443._tcp.www.example.com. 300 IN TLSA 3 1 1 " + "ab" * 32
    ]
    assert decoded(zone, "sip.example.com.", "NAPTR") == [
        'sip.example.com. 300 IN NAPTR 10 100 "s" "SIP+D2U" "" _sip._udp.example.com.'
    ]


def test_duplicate_values_are_answered_once() -> None:
    zone = zone_of(rrset("www", "A", ["192.0.2.1", "192.0.2.2", "192.0.2.1"]))
    assert static(zone, "www.example.com.", "A").count == 2


def test_soa_is_synthesised_from_the_apex_ns_and_the_revision() -> None:
    zone = compiled(revision=2**32 + 5).zones[ZONE]
    assert zone.serial == 5
    assert decoded(zone, ZONE, "SOA") == [
        "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 5 3600 600 604800 300"
    ]
    assert zone.soa is zone.nodes[ZONE].rrsets[6]
    assert zone.negative_ttl == 300


def test_declared_soa_and_negative_ttl_is_the_smaller_of_ttl_and_minimum() -> None:
    soa = {"mname": "ns1.example.com.", "rname": "dns.example.com.", "minimum": 900}
    zone = zone_of(rrset("@", "SOA", [soa], ttl=120), revision=42)
    assert decoded(zone, ZONE, "SOA") == [
        "example.com. 120 IN SOA ns1.example.com. dns.example.com. 42 3600 600 604800 900"
    ]
    assert zone.negative_ttl == 120
    fixed = zone_of(rrset("@", "SOA", [{**soa, "serial": 2024010101, "minimum": 60}], ttl=3600), revision=42)
    assert fixed.serial == 2024010101
    assert fixed.negative_ttl == 60
    header = b"\x00\x01\x84\x03\x00\x00\x00\x00\x00\x01\x00\x00"  # NXDOMAIN, one authority record
    message = dns.message.from_wire(header + fixed.negative_soa_wire)
    assert (
        message.authority[0]
        .to_text()
        .startswith("example.com. 60 IN SOA ns1.example.com. dns.example.com. 2024010101")
    )


def test_apex_ns_and_referrals_carry_owner_names_and_in_zone_glue() -> None:
    zone = zone_of(
        rrset("sub", "NS", ["ns.sub.example.com.", "ns.other.example."]),
        rrset("ns.sub", "A", ["192.0.2.54"]),
        rrset("ns.sub", "AAAA", ["2001:db8::54"]),
        rrset("sub", "DS", ["12345 13 2 " + "ab" * 32]),
    )
    assert set(zone.delegations) == {"sub.example.com."}
    referral = zone.delegations["sub.example.com."]
    assert referral.owner_wire == encode_name("sub.example.com.")
    header = b"\x00\x01\x80\x00\x00\x00\x00\x00" + bytes([0, referral.ns_count, 0, referral.glue_count])
    message = dns.message.from_wire(header + referral.ns_wire + referral.glue_wire)
    assert sorted(message.authority[0].to_text().splitlines()) == [
        "sub.example.com. 300 IN NS ns.other.example.",
        "sub.example.com. 300 IN NS ns.sub.example.com.",
    ]
    assert sorted(line for rrset in message.additional for line in rrset.to_text().splitlines()) == [
        "ns.sub.example.com. 300 IN A 192.0.2.54",
        "ns.sub.example.com. 300 IN AAAA 2001:db8::54",
    ]
    apex = zone.apex_ns
    assert (apex.owner, apex.ns_count, apex.glue_count) == (ZONE, 2, 1)  # ns.example.net. is out of zone
    assert zone.delegation_for("www.ns.sub.example.com.") is referral
    assert zone.delegation_for("sub.example.com.") is referral
    assert zone.delegation_for("www.example.com.") is None
    assert zone.delegation_for(ZONE) is None


def test_wildcards_and_empty_non_terminals() -> None:
    zone = zone_of(
        rrset("*", "A", ["192.0.2.100"]),
        rrset("*.dev", "TXT", ["dev wildcard"]),
        rrset("a.b.c", "A", ["192.0.2.3"]),
    )
    assert zone.wildcards == frozenset({"*.example.com.", "*.dev.example.com."})
    # b.c and c exist (they have a name below them): NODATA there, and they block `*.example.com.`.
    assert zone.nodes["c.example.com."].rrsets == {}
    assert zone.nodes["b.c.example.com."].rrsets == {}
    assert zone.nodes["dev.example.com."].rrsets == {}
    assert zone.wildcard_for("x.example.com.") is zone.nodes["*.example.com."]
    assert zone.wildcard_for("x.y.example.com.") is zone.nodes["*.example.com."]
    assert zone.wildcard_for("x.dev.example.com.") is zone.nodes["*.dev.example.com."]
    assert zone.wildcard_for("x.c.example.com.") is None  # closest encloser c.example.com. has no `*`
    assert zone.wildcard_for("x.b.c.example.com.") is None
    assert zone_of().wildcard_for("x.example.com.") is None


def test_find_zone_takes_the_longest_suffix() -> None:
    snapshot = compiled(
        ("zone", {"name": "eu.example.com.", "tenant": "acme"}),
        ("rrset", {"zone": "eu.example.com.", "name": "@", "type": "NS", "values": ["ns1.example.com."]}),
    )
    assert snapshot.find_zone("www.eu.example.com.").name == "eu.example.com."  # type: ignore[union-attr]
    assert snapshot.find_zone("eu.example.com.").name == "eu.example.com."  # type: ignore[union-attr]
    assert snapshot.find_zone("www.example.com.").name == ZONE  # type: ignore[union-attr]
    assert snapshot.find_zone("example.com.").name == ZONE  # type: ignore[union-attr]
    assert snapshot.find_zone("example.org.") is None
    assert snapshot.find_zone("com.") is None
    assert snapshot.find_zone(".") is None


def test_dynamic_record_sets_compile_to_dynamic_answers() -> None:
    dynamic = {
        "pools": {"p": {"values": [{"value": "192.0.2.10", "health_check": "web"}]}},
        "rules": [{"pool": "p"}],
    }
    zone = zone_of(rrset("www", "A", dynamic=dynamic))
    answer = zone.nodes["www.example.com."].rrsets[1]
    assert isinstance(answer, DynamicAnswer)
    assert (answer.rdtype, answer.ttl) == (1, 300)
    assert zone.health_keys == frozenset({member_health_key("acme", "web", "192.0.2.10")})


def test_record_sets_without_a_zone_document_are_skipped() -> None:
    orphan = parse_document(
        "rrset", {"zone": "ghost.example.", "name": "www", "type": "A", "values": ["192.0.2.1"]}
    )
    base = policy()
    snapshot = compile_policy(base.with_changes([orphan]), {})
    assert set(snapshot.zones) == {ZONE}


def test_compile_reads_no_clock_and_takes_the_policy_revision() -> None:
    base = policy(revision=9)
    assert compile_policy(base, {}).revision == 9
    assert compile_policy(base, {}).compiled_at is None
    assert compile_policy(base, {}, revision=11, compiled_at=5.0).revision == 11
    assert compile_policy(base, {}, compiled_at=5.0).compiled_at == 5.0


OTHER = "other.example."
OTHER_DOCS = (
    ("zone", {"name": OTHER, "tenant": "acme"}),
    ("rrset", {"zone": OTHER, "name": "@", "type": "NS", "values": ["ns1.example.com."]}),
    ("rrset", {"zone": OTHER, "name": "www", "type": "A", "values": ["198.51.100.1"]}),
)


def test_recompile_shares_untouched_zones_and_rebuilds_named_ones() -> None:
    before_policy = policy(*OTHER_DOCS, rrset("www", "A", ["192.0.2.1"]))
    before = compile_policy(before_policy, {})
    changed = before_policy.with_changes([parse_document(*rrset("www", "A", ["192.0.2.99"]))], revision=2)
    after = recompile(before, changed, {}, zones=[ZONE], revision=2)
    assert after.revision == 2
    assert after.zones[OTHER] is before.zones[OTHER]
    assert after.zones[ZONE] is not before.zones[ZONE]
    assert decoded(after.zones[ZONE], "www.example.com.", "A") == ["www.example.com. 300 IN A 192.0.2.99"]
    assert after.zones[ZONE].serial == 2
    assert after.zones[OTHER].serial == 1  # unchanged zones keep their serial


def test_recompile_drops_deleted_zones_and_builds_new_ones() -> None:
    before = compile_policy(policy(), {})
    grown = PolicySet.from_specs(
        [parse_document(kind, body) for kind, body in (*BASE, *OTHER_DOCS)], revision=3
    )
    after = recompile(before, grown, {}, zones=[], revision=3)
    assert set(after.zones) == {ZONE, OTHER}
    assert after.zones[ZONE] is before.zones[ZONE]
    shrunk = grown.with_changes(deletes=[f"zone:{ZONE}"], revision=4)
    final = recompile(after, shrunk, {}, zones=[ZONE], revision=4)
    assert set(final.zones) == {OTHER}
    assert final.zones[OTHER] is after.zones[OTHER]


def test_recompile_on_health_change_touches_only_dependent_zones() -> None:
    dynamic = {
        "pools": {"p": {"values": [{"value": "192.0.2.10", "health_check": "web"}, {"value": "192.0.2.11"}]}},
        "rules": [{"pool": "p"}],
        "max_answers": None,
    }
    base = policy(*OTHER_DOCS, rrset("www", "A", dynamic=dynamic))
    before = compile_policy(base, {})
    key = member_health_key("acme", "web", "192.0.2.10")
    assert before.zones_depending_on([key]) == frozenset({ZONE})
    assert before.zones_depending_on(["acme/web/203.0.113.9"]) == frozenset()
    after = recompile(before, base, {key: False}, zones=before.zones_depending_on([key]), revision=2)
    assert after.zones[OTHER] is before.zones[OTHER]
    answer = after.zones[ZONE].nodes["www.example.com."].rrsets[1]
    assert isinstance(answer, DynamicAnswer)
    assert answer.simple is not None and answer.simple.values == ("192.0.2.11",)


def test_compile_survives_what_validation_would_refuse() -> None:
    cycle = {
        "pools": {
            "a": {"values": [{"value": "192.0.2.1", "status": "down"}], "fallback": "b"},
            "b": {"values": [{"value": "192.0.2.2", "status": "down"}], "fallback": "a"},
        },
        "rules": [{"pool": "missing"}, {"pool": "a"}],
        "on_all_down": "fallback_pool",
        "all_down_pool": "nowhere",
    }
    only_bad_geos = {
        "pools": {"p": {"values": [{"value": "192.0.2.3"}]}},
        "rules": [{"geos": ["XX"], "pool": "p"}],
    }
    broken = policy(
        rrset("www", "A", dynamic=cycle),
        rrset("empty", "CNAME", []),
        rrset("nowhere", "A", dynamic=only_bad_geos),
        ("zone", {"name": "bare.example.", "tenant": "acme"}),
        check=False,
    )
    snapshot = compile_policy(broken, {})
    zone = snapshot.zones[ZONE]
    answer = zone.nodes["www.example.com."].rrsets[1]
    assert isinstance(answer, DynamicAnswer)
    assert [rule.index for rule in answer.rules] == [1]
    assert answer.simple is not None and answer.simple.size == 0  # all down, all_down_pool missing
    assert "empty.example.com." not in zone.nodes
    assert "nowhere.example.com." not in zone.nodes
    bare = snapshot.zones["bare.example."]
    assert answer_texts(reply("bare.example.", 6, bare.soa.answer_wire, 1)) == [
        "bare.example. 300 IN SOA bare.example. hostmaster.bare.example. 1 3600 600 604800 300"
    ]
    assert bare.apex_ns.ns_count == 0
