"""Bare octoDNS zone files: the dynamic-record example from octoDNS's docs, scope, zone creation."""

from __future__ import annotations

import re
import textwrap
from ipaddress import IPv4Address

import pytest

from gslb.importer import ImportScope, PolicyImportError, load_octodns_zone_yaml
from gslb.policy import PolicySet, parse_document, validate

# The annotated example of octoDNS's docs/dynamic_records.md, plus the apex and a health check.
OCTODNS_ZONE = textwrap.dedent(
    """\
    ---
    '':
      - type: NS
        values: [ns1.example.com., ns2.example.com.]
      - type: TXT
        value: v=DKIM1\\; k=rsa
    test:
      dynamic:
        pools:
          apac:
            fallback: na
            values:
            - value: 1.1.1.1
            - value: 2.2.2.2
          eu:
            fallback: na
            values:
            - value: 3.3.3.3
              weight: 2
            - value: 4.4.4.4
              weight: 3
          na:
            values:
            - value: 5.5.5.5
            - value: 6.6.6.6
              status: up
            - value: 7.7.7.7
              status: down
        rules:
        - geos: [AF-ZA, AS, OC]
          pool: apac
        - geos: [AF, EU]
          subnets: [5.149.176.0/24]
          pool: eu
        - pool: na
      octodns:
        healthcheck: {host: my-host-name, path: /dns-health-check, port: 443, protocol: HTTPS}
      ttl: 60
      type: A
      values: [3.3.3.3, 4.4.4.4, 5.5.5.5, 6.6.6.6, 7.7.7.7]
    mail:
      type: MX
      values:
        - {exchange: mx1.example.com., preference: 10}
        - {priority: 20, value: mx2.example.com.}
    '*':
      type: CNAME
      value: www.example.com.
    """
)


def load(**kwargs):
    return load_octodns_zone_yaml(OCTODNS_ZONE, filename="example.com.yaml", zone="example.com", **kwargs)


def test_octodns_docs_example_loads() -> None:
    imported = load()
    assert set(imported.keys) == {
        "rrset:example.com./@/NS",
        "rrset:example.com./@/TXT",
        "rrset:example.com./test/A",
        "rrset:example.com./mail/MX",
        "rrset:example.com./*/CNAME",
    }
    docs = imported.by_key()
    test = docs["rrset:example.com./test/A"]
    assert test.ttl == 60
    assert test.values[0] == IPv4Address("3.3.3.3")
    assert test.dynamic.pools["apac"].fallback == "na"
    assert [member.weight for member in test.dynamic.pools["eu"].values] == [2, 3]
    assert [member.status for member in test.dynamic.pools["na"].values] == ["obey", "up", "down"]
    assert [rule.target_pools for rule in test.dynamic.rules] == [("apac",), ("eu",), ("na",)]
    assert test.dynamic.rules[1].geos == ("AF", "EU")
    assert str(test.dynamic.rules[1].subnets[0]) == "5.149.176.0/24"
    assert docs["rrset:example.com./@/TXT"].values == ("v=DKIM1; k=rsa",)
    assert [mx.exchange for mx in docs["rrset:example.com./mail/MX"].values] == [
        "mx1.example.com.",
        "mx2.example.com.",
    ]
    assert imported.warnings == (
        "example.com.yaml:36:3: rrset:example.com./test/A: 'octodns' settings (provider hints, healthcheck) "
        "are ignored; use 'dynamic' pools with health_check instead",
    )


def test_scope_is_the_zones_record_sets_only() -> None:
    imported = load(tenant="acme")
    assert imported.scope == ImportScope(zones=frozenset({"example.com."}))
    assert imported.tenant == "acme"
    assert "zone:example.com." not in imported.keys


def test_validates_against_a_state_with_the_zone() -> None:
    imported = load()
    state = PolicySet.from_specs(
        [
            parse_document("tenant", {"name": "acme"}),
            parse_document("zone", {"name": "example.com.", "tenant": "acme"}),
        ]
    )
    merged = imported.plan(state).apply(state)
    assert validate(merged) == []


def test_create_zone_creates_only_when_missing() -> None:
    imported = load(tenant="acme", create_zone=True)
    assert imported.scope.ensure == frozenset({"zone:example.com."})
    tenant = parse_document("tenant", {"name": "acme"})
    created = imported.plan(PolicySet.from_specs([tenant]))
    assert "zone:example.com." in [change.key for change in created.creates]

    existing = parse_document(
        "zone", {"name": "example.com.", "tenant": "acme", "ttl": 60, "description": "kept"}
    )
    plan = imported.plan(PolicySet.from_specs([tenant, existing]))
    assert "zone:example.com." not in [change.key for change in (*plan.creates, *plan.updates, *plan.deletes)]


def test_create_zone_needs_a_valid_tenant() -> None:
    with pytest.raises(ValueError, match="create_zone needs the tenant"):
        load(create_zone=True)
    with pytest.raises(
        ValueError, match=re.escape("cannot create zone example.com. for tenant 'Not A Slug'")
    ):
        load(tenant="Not A Slug", create_zone=True)
    with pytest.raises(ValueError, match=re.escape("zone 'bad..zone'")):
        load_octodns_zone_yaml("", filename="z.yaml", zone="bad..zone")


def test_empty_zone_file_warns_that_it_empties_the_zone() -> None:
    imported = load_octodns_zone_yaml("---\n", filename="z.yaml", zone="example.com.")
    assert imported.specs == ()
    assert imported.warnings == (
        "z.yaml:1: the file is empty: importing it removes every record set of example.com.",
    )


def test_problems_are_located_in_zone_files() -> None:
    with pytest.raises(PolicyImportError) as excinfo:
        load_octodns_zone_yaml(
            "www: {type: A, value: 1.2.3}\nwww: {type: A, value: 1.2.3.4}\nzone: {type: TXT, values: []}\n",
            filename="z.yaml",
            zone="example.com.",
        )
    assert excinfo.value.messages == [
        "z.yaml:2:1: duplicate key 'www' (first at line 1); YAML would silently keep only the last one: "
        "merge them or rename one",
        "z.yaml:3:27: rrset:example.com./zone/TXT/values: "
        "Tuple should have at least 1 item after validation, not 0",
    ]


def test_a_list_at_the_top_is_the_wrong_shape() -> None:
    with pytest.raises(PolicyImportError) as excinfo:
        load_octodns_zone_yaml("- www\n", filename="z.yaml", zone="example.com.")
    assert excinfo.value.messages == [
        "z.yaml:1:1: the records of zone example.com. must be a mapping, not a list"
    ]
