"""Cross-document validation: every problem found at once, each with its document and pointer."""

from __future__ import annotations

from typing import Any

from gslb.policy import PolicySet, parse_document, validate


def policy(*docs: tuple[str, dict[str, Any]]) -> PolicySet:
    return PolicySet.from_specs(parse_document(kind, body) for kind, body in docs)


BASE = (
    ("tenant", {"name": "acme"}),
    ("tenant", {"name": "globex"}),
    ("zone", {"name": "example.com.", "tenant": "acme"}),
    ("rrset", {"zone": "example.com.", "name": "@", "type": "NS", "values": ["ns1.example.com."]}),
    ("rrset", {"zone": "example.com.", "name": "ns1", "type": "A", "values": ["192.0.2.53"]}),
    ("check", {"tenant": "acme", "name": "web", "type": "http", "port": 80}),
)


def messages(*extra: tuple[str, dict[str, Any]]) -> list[str]:
    return [str(problem) for problem in validate(policy(*BASE, *extra))]


def dynamic_record(**dynamic: Any) -> tuple[str, dict[str, Any]]:
    return ("rrset", {"zone": "example.com.", "name": "www", "type": "A", "dynamic": dynamic})


def test_base_policy_is_valid() -> None:
    assert messages() == []


def test_missing_tenant_and_parent_cycle() -> None:
    found = [
        str(p)
        for p in validate(
            policy(
                ("tenant", {"name": "a", "parent": "b"}),
                ("tenant", {"name": "b", "parent": "a"}),
                ("tenant", {"name": "c", "parent": "nobody"}),
                ("zone", {"name": "x.test.", "tenant": "ghost"}),
            )
        )
    ]
    assert "tenant:a/parent: parent chain loops back to 'a'; tenants must form a tree" in found
    assert "tenant:c/parent: parent tenant 'nobody' does not exist" in found
    assert "zone:x.test./tenant: tenant 'ghost' does not exist; create it first" in found


def test_zone_inside_another_tenants_zone_is_refused_but_child_org_allowed() -> None:
    found = messages(("zone", {"name": "sub.example.com.", "tenant": "globex"}))
    assert any(
        m.startswith("zone:sub.example.com./name: zone sub.example.com. lies inside zone example.com.")
        for m in found
    )
    allowed = validate(
        policy(
            *BASE,
            ("tenant", {"name": "acme-eu", "parent": "acme"}),
            ("zone", {"name": "eu.example.com.", "tenant": "acme-eu"}),
            ("rrset", {"zone": "eu.example.com.", "name": "@", "type": "NS", "values": ["ns1.example.com."]}),
        )
    )
    assert allowed == []


def test_zone_needs_apex_ns() -> None:
    found = validate(
        policy(("tenant", {"name": "acme"}), ("zone", {"name": "example.org.", "tenant": "acme"}))
    )
    assert [p.doc for p in found] == ["zone:example.org."]
    assert "has no NS record set at its apex" in found[0].message


def test_cname_beside_other_data_and_at_apex() -> None:
    found = messages(
        ("rrset", {"zone": "example.com.", "name": "www", "type": "CNAME", "values": ["web.example.net."]}),
        ("rrset", {"zone": "example.com.", "name": "www", "type": "TXT", "values": ["hello"]}),
        ("rrset", {"zone": "example.com.", "name": "@", "type": "CNAME", "values": ["web.example.net."]}),
    )
    assert (
        "rrset:example.com./www/CNAME/type: CNAME at www.example.com. cannot coexist with other data (TXT); "
        "remove them or use the target's records directly"
    ) in found
    assert (
        "rrset:example.com./@/CNAME/name: a CNAME cannot be at the zone apex (it would hide SOA and NS)"
        in found
    )


def test_record_in_unknown_zone_and_in_hosted_subzone() -> None:
    found = messages(
        ("rrset", {"zone": "nowhere.test.", "name": "www", "type": "A", "values": ["192.0.2.1"]}),
        ("zone", {"name": "dev.example.com.", "tenant": "acme"}),
        ("rrset", {"zone": "dev.example.com.", "name": "@", "type": "NS", "values": ["ns1.example.com."]}),
        ("rrset", {"zone": "example.com.", "name": "api.dev", "type": "A", "values": ["192.0.2.1"]}),
    )
    assert "rrset:nowhere.test./www/A/zone: zone nowhere.test. does not exist; create it first" in found
    assert any(
        m.startswith("rrset:example.com./api.dev/A/name: api.dev.example.com. lies in zone dev.example.com.")
        for m in found
    )


def test_delegation_occludes_data() -> None:
    found = messages(
        (
            "rrset",
            {"zone": "example.com.", "name": "child", "type": "NS", "values": ["ns.child.example.com."]},
        ),
        ("rrset", {"zone": "example.com.", "name": "ns.child", "type": "A", "values": ["192.0.2.7"]}),
        ("rrset", {"zone": "example.com.", "name": "www.child", "type": "TXT", "values": ["hidden"]}),
        (
            "rrset",
            {
                "zone": "example.com.",
                "name": "child",
                "type": "MX",
                "values": [{"preference": 1, "exchange": "mx.example.com."}],
            },
        ),
    )
    assert not any("ns.child" in m for m in found), found  # glue is fine
    assert any(
        m.startswith("rrset:example.com./www.child/TXT/name: www.child.example.com. is below the delegation")
        for m in found
    )
    assert any(
        m.startswith("rrset:example.com./child/MX/type: child.example.com. is a delegation point")
        for m in found
    )


def test_dynamic_reference_problems_all_reported() -> None:
    found = messages(
        dynamic_record(
            pools={
                "eu": {"values": [{"value": "192.0.2.1", "health_check": "missing"}], "fallback": "us"},
                "us": {"values": [{"value": "2001:db8::1"}], "fallback": "eu"},
                "asia": {"values": [{"value": "192.0.2.3", "probe": "not a host!"}]},
            },
            rules=[
                {"pool": "eu", "geos": ["EU", "XX-YY"]},
                {"pool": "nope"},
                {"nearest": ["asia"], "geos": ["EU"]},
            ],
            on_all_down="fallback_pool",
            all_down_pool="sorry",
        )
    )
    doc = "rrset:example.com./www/A"
    expected = [
        f"{doc}/dynamic/pools/eu/values/0/health_check: "
        "health check 'missing' does not exist in tenant 'acme'",
        f"{doc}/dynamic/pools/us/values/0/value: '2001:db8::1' is not an IPv4 address",
        f"{doc}/dynamic/pools/eu/fallback: fallback pools form a cycle (eu -> us -> eu); "
        "end the chain with a pool that has no fallback",
        f"{doc}/dynamic/all_down_pool: pool 'sorry' is not defined",
        f"{doc}/dynamic/rules/1/pool: pool 'nope' is not defined in this record's pools",
        f"{doc}/dynamic/rules/1: a rule without geos or subnets matches everyone and must be the last rule; "
        "the rules after it would never apply",
        f"{doc}/dynamic/rules/2/nearest: pool 'asia' has no location, which 'nearest' needs",
        f"{doc}/dynamic/rules/2/geos/0: geo EU is already matched by rule 0; this one never applies",
    ]
    for message in expected:
        assert message in found, (message, found)
    assert any(m.startswith(f"{doc}/dynamic/rules/0/geos/1:") for m in found)
    assert any(
        m.startswith(f"{doc}/dynamic/pools/asia/values/0/probe: probe must be an IP address or host name")
        for m in found
    )


def test_static_record_needs_values() -> None:
    found = messages(("rrset", {"zone": "example.com.", "name": "www", "type": "A"}))
    assert found == [
        "rrset:example.com./www/A/values: a A record set needs at least one value (or a 'dynamic' section)"
    ]


def test_services_cross_references() -> None:
    found = messages(
        (
            "vip",
            {
                "tenant": "acme",
                "name": "web",
                "address": "192.0.2.80",
                "port": 80,
                "reals": [{"address": "10.0.0.1", "health_check": "nope"}, {"address": "10.0.0.1"}],
            },
        ),
        (
            "vip",
            {
                "tenant": "globex",
                "name": "web",
                "address": "192.0.2.80",
                "port": 80,
                "reals": [{"address": "10.0.0.2"}],
            },
        ),
        ("upstream", {"tenant": "acme", "name": "api", "members": [{"address": "10.0.0.1", "port": 8080}]}),
        ("route", {"tenant": "acme", "name": "api", "hosts": ["api.example.com"], "upstream": "missing"}),
        ("route", {"tenant": "globex", "name": "api", "hosts": ["api.example.com"], "upstream": "x"}),
        (
            "anycast",
            {"tenant": "acme", "name": "web", "prefix": "192.0.2.80/32", "service": "vip", "vip": "gone"},
        ),
        ("anycast", {"tenant": "ghost", "name": "dns", "prefix": "192.0.2.80/32", "service": "dns"}),
    )
    assert "vip:acme/web/reals/0/health_check: health check 'nope' does not exist in tenant 'acme'" in found
    assert "vip:acme/web/reals/1/address: real 10.0.0.1 is listed twice" in found
    assert "vip:globex/web/address: 192.0.2.80:80/tcp is already used by VIP acme/web" in found
    assert "route:acme/api/upstream: upstream pool 'missing' does not exist in tenant 'acme'" in found
    assert (
        "route:globex/api/hosts/0: host api.example.com path / is already routed by another tenant" in found
    )
    assert "anycast:acme/web/vip: VIP 'gone' does not exist in tenant 'acme'" in found
    assert "anycast:ghost/dns/tenant: tenant 'ghost' does not exist; create it first" in found
    assert "anycast:ghost/dns/prefix: prefix 192.0.2.80/32 is already announced by acme/web" in found


def test_scoped_validation_skips_other_zones() -> None:
    broken = ("rrset", {"zone": "example.com.", "name": "www", "type": "A"})
    assert validate(policy(*BASE, broken), zones={"other.test."}) == []
    assert len(validate(policy(*BASE, broken), zones={"example.com."})) == 1
