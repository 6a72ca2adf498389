"""What a zone transfer carries (pure): static record sets as compiled, dynamic names as their
fail-open set, independent of health; and serials that move with content, not with health."""

from __future__ import annotations

from typing import Any

import dns.rdata
import dns.rdataclass
import dns.rdatatype
from engine_helpers import ZONE, policy, rrset

from gslb.engine import compile_policy, member_health_key, recompile
from gslb.engine.transfer import fail_open_values, transfer_rrsets
from gslb.policy import parse_document


def as_text(zone: Any, docs: Any) -> dict[tuple[str, str], list[str]]:
    out = {}
    for item in transfer_rrsets(zone, docs):
        rdtype = dns.rdatatype.RdataType.make(item.rdtype)
        out[(item.owner, rdtype.name)] = [
            dns.rdata.from_wire(dns.rdataclass.IN, rdtype, wire, 0, len(wire)).to_text()
            for wire in item.rdatas
        ]
    return out


POOLS: dict[str, Any] = {
    "eu": {
        "values": [
            {"value": "192.0.2.10", "health_check": "web"},
            {"value": "192.0.2.11", "status": "down"},
            {"value": "192.0.2.12", "weight": 5},
        ],
        "fallback": "us",
    },
    "us": {"values": [{"value": "198.51.100.10"}]},
}
RULES = [{"geos": ["EU"], "pool": "eu"}, {"pool": "us"}]


def test_transfer_lists_every_record_set_but_the_soa_apex_first() -> None:
    built = policy(
        rrset("www", "A", ["192.0.2.1"]),
        rrset("a.b", "TXT", ["deep"]),
        rrset("sub", "NS", ["ns.sub.example.com."]),
        rrset("ns.sub", "A", ["192.0.2.7"]),
        rrset("geo", "A", dynamic={"pools": POOLS, "rules": RULES}),
    )
    zone = compile_policy(built, {}).zones[ZONE]
    content = as_text(zone, built.docs)
    assert next(iter(content))[0] == ZONE, "the apex first"
    assert ("example.com.", "SOA") not in content
    assert content[(ZONE, "NS")] == ["ns1.example.com.", "ns.example.net."]
    assert content[("ns.sub.example.com.", "A")] == ["192.0.2.7"], "glue below a delegation travels too"
    assert content[("a.b.example.com.", "TXT")] == ['"deep"']
    assert content[("geo.example.com.", "A")] == ["192.0.2.10", "192.0.2.12"]
    owners = [owner for owner, _type in content]
    assert owners[1:] == sorted(owners[1:]), "then sorted by name"


def test_fail_open_set_ignores_health_and_follows_the_engine_semantics() -> None:
    doc = parse_document(*rrset("geo", "A", dynamic={"pools": POOLS, "rules": RULES}))
    assert fail_open_values("A", doc) == ["192.0.2.10", "192.0.2.12"]
    with_static = parse_document(
        *rrset("geo", "A", ["203.0.113.1"], dynamic={"pools": POOLS, "rules": RULES})
    )
    assert fail_open_values("A", with_static) == ["203.0.113.1"], "static values answer unmatched clients"
    all_drained = {"eu": {"values": [{"value": "192.0.2.1", "status": "down"}]}}
    drained = parse_document(*rrset("geo", "A", dynamic={"pools": all_drained, "rules": [{"pool": "eu"}]}))
    assert fail_open_values("A", drained) == ["192.0.2.1"], "never an empty set while members exist"
    nearest_pools = {
        "far": {"values": [{"value": "192.0.2.30"}]},
        "tokyo": {"values": [{"value": "192.0.2.31"}], "location": {"latitude": 35.7, "longitude": 139.7}},
    }
    nearest = parse_document(
        *rrset("geo", "A", dynamic={"pools": nearest_pools, "rules": [{"nearest": ["far", "tokyo"]}]})
    )
    assert fail_open_values("A", nearest) == ["192.0.2.31"], "nearest candidates need a location"
    cname_pools = {
        "p": {"values": [{"value": "a.example.net.", "weight": 2}, {"value": "b.example.net.", "weight": 9}]}
    }
    cname = parse_document(*rrset("cdn", "CNAME", dynamic={"pools": cname_pools, "rules": [{"pool": "p"}]}))
    assert fail_open_values("CNAME", cname) == ["b.example.net."]


def test_health_changes_answers_but_neither_the_transfer_nor_the_serial() -> None:
    built = policy(rrset("geo", "A", dynamic={"pools": POOLS, "rules": RULES}), revision=4)
    before = compile_policy(built, {})
    key = member_health_key("acme", "web", "192.0.2.10")
    unhealthy = recompile(
        before, built.with_changes(revision=5), {key: False}, zones=[ZONE], revision=5, keep_serial=[ZONE]
    )
    assert unhealthy.zones[ZONE] is not before.zones[ZONE], "answers were rebuilt for the new health"
    assert unhealthy.zones[ZONE].serial == before.zones[ZONE].serial == 4
    assert as_text(unhealthy.zones[ZONE], built.docs) == as_text(before.zones[ZONE], built.docs)

    changed = built.with_changes([parse_document(*rrset("new", "A", ["192.0.2.99"]))], revision=6)
    after = recompile(unhealthy, changed, {key: False}, zones=[ZONE], revision=6)
    assert after.zones[ZONE].serial == 6, "a content change moves the serial to the revision"


def test_the_nodes_index_recompile_keeps_the_serial_for_health_only_changes() -> None:
    from gslb.engine.index import PolicyIndex, compile_index, recompile_index

    built = policy(rrset("geo", "A", dynamic={"pools": POOLS, "rules": RULES}), revision=4)
    index = PolicyIndex()
    for key, spec in built.docs.items():
        index.put(key, spec)
    before = compile_index(index, {}, revision=4)
    key = member_health_key("acme", "web", "192.0.2.10")
    after = recompile_index(before, index, {key: False}, zones=[ZONE], revision=5, keep_serial=[ZONE])
    assert after.zones[ZONE] is not before.zones[ZONE] and after.zones[ZONE].serial == 4
    index.put("rrset:example.com./new/A", parse_document(*rrset("new", "A", ["192.0.2.99"])))
    changed = recompile_index(after, index, {key: False}, zones=[ZONE], revision=6)
    assert changed.zones[ZONE].serial == 6
