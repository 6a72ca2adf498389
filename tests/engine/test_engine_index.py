"""PolicyIndex: incremental bookkeeping for a node's feed, and snapshots equal to a full compile."""

from __future__ import annotations

from typing import Any

from gslb.engine import compile_policy
from gslb.engine.index import PolicyIndex, StaticRecord, compile_index, recompile_index
from gslb.policy import PolicySet, parse_document
from gslb.policy.documents import doc_key

DOCS: list[tuple[str, dict[str, Any]]] = [
    ("tenant", {"name": "acme"}),
    ("zone", {"name": "example.com.", "tenant": "acme"}),
    ("zone", {"name": "example.org.", "tenant": "acme"}),
    ("rrset", {"zone": "example.com.", "name": "@", "type": "NS", "values": ["ns1.example.com."]}),
    ("rrset", {"zone": "example.org.", "name": "@", "type": "NS", "values": ["ns1.example.com."]}),
    ("rrset", {"zone": "example.com.", "name": "ns1", "type": "A", "values": ["192.0.2.53"]}),
    ("rrset", {"zone": "example.com.", "name": "www", "type": "A", "values": ["192.0.2.1", "192.0.2.2"]}),
    ("rrset", {"zone": "example.com.", "name": "www", "type": "TXT", "values": ["hello"]}),
    (
        "rrset",
        {
            "zone": "example.com.",
            "name": "mail",
            "type": "MX",
            "values": [{"preference": 10, "exchange": "mx.example.com."}],
        },
    ),
    ("rrset", {"zone": "example.com.", "name": "ds", "type": "SSHFP", "values": ["1 1 " + "ab" * 20]}),
    (
        "rrset",
        {
            "zone": "example.com.",
            "name": "app",
            "type": "A",
            "dynamic": {"pools": {"p": {"values": [{"value": "192.0.2.9"}]}}, "rules": [{"pool": "p"}]},
        },
    ),
]


def specs() -> list[Any]:
    return [parse_document(kind, body) for kind, body in DOCS]


def indexed() -> PolicyIndex:
    index = PolicyIndex()
    for spec in specs():
        index.put(doc_key(spec), spec)
    return index


def wires(snapshot: Any) -> dict[tuple[str, str, int], bytes]:
    found = {}
    for zone_name, zone in snapshot.zones.items():
        for owner, node in zone.nodes.items():
            for rdtype, answer in node.rrsets.items():
                found[(zone_name, owner, rdtype)] = getattr(answer, "answer_wire", repr(answer))
    return found


def test_static_record_sets_are_kept_compact_and_dynamic_ones_as_models() -> None:
    index = indexed()
    www = index.records["example.com."]["rrset:example.com./www/A"]
    app = index.records["example.com."]["rrset:example.com./app/A"]
    assert isinstance(www, StaticRecord) and not isinstance(app, StaticRecord)
    assert index.record_sets == 8


def test_a_compile_from_the_index_equals_a_compile_of_the_policy() -> None:
    policy = PolicySet.from_specs(specs(), revision=5)
    assert wires(compile_index(indexed(), {}, revision=5)) == wires(compile_policy(policy, {}, revision=5))


def test_the_policy_set_copy_gives_the_models_back() -> None:
    assert indexed().policy_set(5).docs == PolicySet.from_specs(specs(), revision=5).docs


def test_put_and_delete_name_the_zones_they_touch() -> None:
    index = indexed()
    moved = parse_document(
        "rrset", {"zone": "example.org.", "name": "www", "type": "A", "values": ["192.0.2.7"]}
    )
    assert index.put("rrset:example.org./www/A", moved) == {"example.org."}
    assert index.delete("rrset:example.com./www/A") == {"example.com."}
    assert index.delete("rrset:example.com./www/A") == set()  # already gone
    assert index.delete("zone:example.org.") == {"example.org."}
    assert (
        index.put(
            "check:acme/web",
            parse_document("check", {"tenant": "acme", "name": "web", "type": "tcp", "port": 80}),
        )
        == set()
    )
    assert index.zones_of_tenants({"acme"}) == {"example.com."}
    assert index.record_sets == 8


def test_recompile_rebuilds_only_the_named_zones() -> None:
    index = indexed()
    before = compile_index(index, {}, revision=1)
    index.put(
        "rrset:example.com./www/A",
        parse_document(
            "rrset", {"zone": "example.com.", "name": "www", "type": "A", "values": ["192.0.2.99"]}
        ),
    )
    after = recompile_index(before, index, {}, zones={"example.com."}, revision=2)
    assert after.zones["example.org."] is before.zones["example.org."]
    assert after.zones["example.com."].nodes["www.example.com."].get(1).rdatas == (bytes([192, 0, 2, 99]),)
    index.delete("zone:example.org.")
    assert "example.org." not in recompile_index(after, index, {}, zones=set(), revision=3).zones
