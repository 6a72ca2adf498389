"""The native policy format: every kind, every record type, octoDNS value forms, scope."""

from __future__ import annotations

import textwrap
from ipaddress import IPv4Address
from pathlib import Path

import gslb.importer
from gslb.importer import ImportScope, load_policy_yaml
from gslb.policy import PolicySet, validate


def load(text: str):
    return load_policy_yaml(textwrap.dedent(text), filename="policy.yaml")


def test_full_policy_parses_into_every_kind_and_validates(full_policy_text: str) -> None:
    imported = load_policy_yaml(full_policy_text, filename="full.yaml")
    kinds = {key.partition(":")[0] for key in imported.keys}
    assert kinds == {"tenant", "zone", "rrset", "check", "vip", "upstream", "route", "anycast"}
    types = {spec.type for spec in imported.specs if hasattr(spec, "zone")}
    assert types == {
        "A", "AAAA", "CNAME", "NS", "PTR", "MX", "TXT", "SRV", "CAA", "SOA",
        "DS", "TLSA", "SSHFP", "NAPTR", "SVCB", "HTTPS", "LOC", "SPF", "DNSKEY", "CDS", "URI",
    }  # fmt: skip
    assert validate(PolicySet.from_specs(imported.specs)) == []
    assert imported.scope == ImportScope(tenants=frozenset({"acme", "acme-eu", "globex"}))
    assert imported.warnings == ()


def test_context_fields_come_from_keys(full_policy_text: str) -> None:
    docs = load_policy_yaml(full_policy_text, filename="full.yaml").by_key()
    assert docs["tenant:acme-eu"].parent == "acme"
    assert docs["tenant:globex"].name == "globex"  # an empty tenant is a tenant
    assert docs["check:acme/web"].tenant == "acme"
    assert docs["zone:example.com."].tenant == "acme"
    assert docs["zone:example.com."].ttl == 600
    assert docs["zone:eu.example.com."].tenant == "acme-eu"
    www = docs["rrset:example.com./www/A"]
    assert www.values == (IPv4Address("192.0.2.10"), IPv4Address("192.0.2.20"))
    assert www.dynamic.pools["eu"].values[0].probe == "10.0.0.10"
    assert www.dynamic.on_all_down == "fallback_pool"


def test_octodns_value_forms_are_converted(full_policy_text: str) -> None:
    docs = load_policy_yaml(full_policy_text, filename="full.yaml").by_key()
    apex = "rrset:example.com./@/"
    assert [(mx.preference, mx.exchange) for mx in docs[apex + "MX"].values] == [
        (10, "mx1.example.com."),
        (20, "mx2.example.com."),
    ]
    assert docs[apex + "TXT"].values == ("v=spf1 mx -all", "v=DKIM1; k=rsa; p=abc")
    assert docs[apex + "SPF"].values == ('"v=spf1 include:_spf.example.com -all"',)
    assert docs["rrset:example.com./_443._tcp.www/TLSA"].values == ("3 1 1 " + "0123456789abcdef" * 4,)
    assert docs["rrset:example.com./host/SSHFP"].values == (
        "4 2 " + "abcdef" * 10 + "abcd",
        "1 1 0123456789abcdef0123456789abcdef01234567",
    )
    assert docs["rrset:example.com./sub/DS"].values == ("12345 13 2 " + "0123456789abcdef" * 4,)
    assert docs["rrset:example.com./sip/NAPTR"].values == (
        '100 10 "U" "E2U+sip" "!^(.*)$!sip:\\\\1@example.com!" .',
        '200 10 "S" "SIP+D2T" "" _sip._tcp.example.com.',
    )
    soa = docs[apex + "SOA"].values[0]
    assert (soa.mname, soa.serial, soa.refresh) == ("ns1.example.com.", None, 7200)


def test_names_apex_and_case() -> None:
    imported = load(
        """
        tenants:
          acme:
            zones:
              Example.COM:
                records:
                  '@': {type: NS, value: ns1.example.com.}
                  WWW: {type: a, value: 192.0.2.1}
                  '*': {type: A, value: 192.0.2.2}
        """
    )
    assert set(imported.keys) == {
        "tenant:acme",
        "zone:example.com.",
        "rrset:example.com./@/NS",
        "rrset:example.com./www/A",
        "rrset:example.com./*/A",
    }


def test_empty_sections_and_yaml_merge_keys() -> None:
    imported = load(
        """
        tenants:
          acme:
            checks:
              a: &base {type: http, interval: 5, timeout: 1}
              b: {<<: *base, port: 8080}
            vips:
            zones:
          globex:
        """
    )
    docs = imported.by_key()
    assert docs["check:acme/b"].port == 8080
    assert docs["check:acme/b"].interval == 5
    assert set(imported.keys) == {"tenant:acme", "tenant:globex", "check:acme/a", "check:acme/b"}


def test_octodns_metadata_is_ignored_with_a_warning() -> None:
    imported = load(
        """
        tenants:
          acme:
            zones:
              example.com.:
                records:
                  '': {type: NS, value: ns1.example.com.}
                  www:
                    type: A
                    value: 192.0.2.1
                    octodns:
                      healthcheck: {path: /ready}
        """
    )
    assert imported.warnings == (
        "policy.yaml:11:13: rrset:example.com./www/A: 'octodns' settings (provider hints, healthcheck) "
        "are ignored; use 'dynamic' pools with health_check instead",
    )
    assert "rrset:example.com./www/A" in imported.keys


def test_single_value_and_scalar_values_are_accepted() -> None:
    docs = load(
        """
        tenants:
          acme:
            zones:
              example.com.:
                records:
                  a: {type: A, value: 192.0.2.1}
                  b: {type: A, values: 192.0.2.2}
                  c: {type: CNAME, value: a.example.com}
        """
    ).by_key()
    assert docs["rrset:example.com./a/A"].values == (IPv4Address("192.0.2.1"),)
    assert docs["rrset:example.com./b/A"].values == (IPv4Address("192.0.2.2"),)
    assert docs["rrset:example.com./c/CNAME"].values == ("a.example.com.",)


def test_the_documented_example_is_valid() -> None:
    text = (Path(gslb.importer.__file__).parent / "FORMAT.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    imported = load_policy_yaml(example, filename="FORMAT.md")
    assert validate(PolicySet.from_specs(imported.specs)) == []
    assert {key.partition(":")[0] for key in imported.keys} == {
        "tenant", "check", "vip", "upstream", "route", "anycast", "zone", "rrset",
    }  # fmt: skip
