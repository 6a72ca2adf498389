"""Export to the native format: stable, and loading it back gives exactly the same documents."""

from __future__ import annotations

import random

import pytest
import yaml

from gslb.importer import export_policy_yaml, load_bind_zone, load_octodns_zone_yaml, load_policy_yaml
from gslb.policy import PolicySet, parse_document


def full_policy(text: str) -> PolicySet:
    return PolicySet.from_specs(load_policy_yaml(text, filename="full.yaml").specs)


def test_round_trip_every_kind_and_record_type(full_policy_text: str) -> None:
    policy = full_policy(full_policy_text)
    exported = export_policy_yaml(policy)
    back = load_policy_yaml(exported, filename="export.yaml").by_key()
    assert back.keys() == policy.docs.keys()
    for key, spec in policy.docs.items():
        assert back[key] == spec, key
    # And the documents are equal as stored bodies too (what the store would write).
    assert {key: spec.to_body() for key, spec in back.items()} == {
        key: spec.to_body() for key, spec in policy.docs.items()
    }


def test_round_trip_from_stored_bodies(full_policy_text: str) -> None:
    policy = full_policy(full_policy_text)
    stored = PolicySet.from_specs(
        parse_document(key.partition(":")[0], spec.to_body()) for key, spec in policy.docs.items()
    )
    imported = load_policy_yaml(export_policy_yaml(stored), filename="export.yaml")
    assert imported.plan(stored).is_empty


def test_export_is_stable_whatever_the_document_order(full_policy_text: str) -> None:
    policy = full_policy(full_policy_text)
    items = list(policy.docs.items())
    random.Random(7).shuffle(items)
    assert export_policy_yaml(PolicySet(dict(items))) == export_policy_yaml(policy)


def test_export_shape(full_policy_text: str) -> None:
    tree = yaml.safe_load(export_policy_yaml(full_policy(full_policy_text)))
    assert list(tree) == ["tenants"]
    assert list(tree["tenants"]) == ["acme", "acme-eu", "globex"]
    acme = tree["tenants"]["acme"]
    assert list(acme) == [
        "display_name",
        "labels",
        "checks",
        "vips",
        "upstreams",
        "routes",
        "anycast",
        "zones",
    ]
    assert list(acme["checks"]) == ["ntp", "resolver", "secure", "tcp443", "web"]
    records = acme["zones"]["example.com."]["records"]
    assert next(iter(records)) == ""  # the apex first, as octoDNS names it
    assert [record["type"] for record in records[""]] == [
        "CAA", "CDS", "DNSKEY", "LOC", "MX", "NS", "SOA", "SPF", "TXT",
    ]  # fmt: skip
    txt = next(record for record in records[""] if record["type"] == "TXT")
    assert txt["values"] == ["v=spf1 mx -all", "v=DKIM1\\; k=rsa\\; p=abc"]
    assert records["ns1"] == {"type": "A", "ttl": 86400, "values": ["192.0.2.53"]}
    assert records["_443._tcp.www"]["values"][0]["certificate_usage"] == 3
    assert tree["tenants"]["globex"] == {}


def test_export_selected_tenants(full_policy_text: str) -> None:
    policy = full_policy(full_policy_text)
    tree = yaml.safe_load(export_policy_yaml(policy, tenants=["acme-eu"]))
    assert list(tree["tenants"]) == ["acme-eu"]
    assert list(tree["tenants"]["acme-eu"]["zones"]) == ["eu.example.com."]
    with pytest.raises(ValueError, match="no such tenant: nobody"):
        export_policy_yaml(policy, tenants=["acme", "nobody"])


def test_exported_records_are_an_octodns_zone_file(full_policy_text: str) -> None:
    policy = full_policy(full_policy_text)
    tree = yaml.safe_load(export_policy_yaml(policy))
    records = tree["tenants"]["acme"]["zones"]["example.com."]["records"]
    imported = load_octodns_zone_yaml(
        yaml.safe_dump(records), filename="example.com.yaml", zone="example.com."
    )
    expected = {key: spec for key, spec in policy.docs.items() if key.startswith("rrset:example.com./")}
    assert imported.by_key() == expected


def test_bind_import_exports_and_reloads_identically() -> None:
    zone = (
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 2 3 4 5\n@ NS ns1\n"
        'ns1 A 192.0.2.1\ntxt TXT "a;b" "c"\nsip NAPTR 100 10 "U" "E2U+sip" "!^(.*)$!sip:\\\\1@x!" .\n'
    )
    imported = load_bind_zone(zone, filename="z", zone="example.com.", tenant="acme", create_zone=True)
    policy = PolicySet.from_specs([parse_document("tenant", {"name": "acme"}), *imported.specs])
    back = load_policy_yaml(export_policy_yaml(policy), filename="export.yaml")
    assert back.by_key() == dict(policy.docs)
