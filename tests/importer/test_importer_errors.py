"""The bad-input catalogue: every problem of a file at once, each as FILE:LINE:COLUMN: message."""

from __future__ import annotations

import textwrap

import pytest

from gslb.importer import PolicyImportError, load_policy_yaml


def problems(text: str) -> list[str]:
    """Messages for `text` (dedented; its first line is line 1)."""
    with pytest.raises(PolicyImportError) as excinfo:
        load_policy_yaml(textwrap.dedent(text).lstrip("\n"), filename="p.yaml")
    assert str(excinfo.value).startswith(f"{len(excinfo.value.messages)} problem(s):")
    return excinfo.value.messages


def test_malformed_yaml_reports_the_parser_position() -> None:
    found = problems(
        """
        tenants:
          acme:
            checks:
              web: {type: http
          globex:
        """
    )
    assert found == [
        "p.yaml:5:9: invalid YAML: expected ',' or '}', but got ':' (while parsing a flow mapping at line 4)"
    ]


def test_tab_indentation() -> None:
    (found,) = problems("tenants:\n\tacme: {}\n")
    assert found.startswith("p.yaml:2:1: invalid YAML: found character '\\t' that cannot start any token")


def test_unknown_fields_everywhere_are_all_reported() -> None:
    found = problems(
        """
        tenants:
          acme:
            dispaly_name: x
            checks:
              web: {type: http, prot: 80}
            zones:
              example.com.:
                tll: 5
                records:
                  www: {type: A, value: 192.0.2.1, tll: 30}
        """
    )
    assert [message.split(" (known fields")[0].split("; use one of")[0] for message in found] == [
        "p.yaml:3:5: unknown key 'dispaly_name' in tenant 'acme'",
        "p.yaml:5:31: check:acme/web/prot: unknown field 'prot'",
        "p.yaml:8:9: unknown key 'tll' in zone example.com.",
        "p.yaml:10:49: rrset:example.com./www/A/tll: unknown field 'tll'",
    ]


def test_bad_ip_addresses() -> None:
    found = problems(
        """
        tenants:
          acme:
            vips:
              v: {address: 300.1.1.1, port: 80, reals: [{address: 10.0.0.1}]}
            zones:
              example.com.:
                records:
                  www:
                    type: A
                    values: [192.0.2.1, 192.0.2.300]
                  one: {type: A, value: not-an-ip}
                  six: {type: AAAA, values: [192.0.2.1]}
        """
    )
    assert found == [
        "p.yaml:4:20: vip:acme/v/address: '300.1.1.1' is not an IPv4 or IPv6 address",
        "p.yaml:10:33: rrset:example.com./www/A/values/1: '192.0.2.300': input is not a valid ipv4 address",
        # `value` stands for values/0: the problem points at it.
        "p.yaml:11:33: rrset:example.com./one/A/values/0: 'not-an-ip': input is not a valid ipv4 address",
        "p.yaml:12:38: rrset:example.com./six/AAAA/values/0: '192.0.2.1': input is not a valid ipv6 address",
    ]


def test_weights_out_of_range() -> None:
    found = problems(
        """
        tenants:
          acme:
            upstreams:
              u: {members: [{address: 10.0.0.1, port: 80, weight: 0}]}
            zones:
              example.com.:
                records:
                  www:
                    type: A
                    dynamic:
                      pools:
                        p:
                          values:
                            - {value: 192.0.2.1, weight: 1001}
                            - {value: 192.0.2.2, weight: -1}
                      rules: [{pool: p}]
        """
    )
    assert found == [
        "p.yaml:4:59: upstream:acme/u/members/0/weight: Input should be greater than or equal to 1",
        "p.yaml:14:50: rrset:example.com./www/A/dynamic/pools/p/values/0/weight: "
        "Input should be less than or equal to 1000",
        "p.yaml:15:50: rrset:example.com./www/A/dynamic/pools/p/values/1/weight: "
        "Input should be greater than or equal to 1",
    ]


def test_duplicate_yaml_keys_and_duplicate_documents() -> None:
    found = problems(
        """
        tenants:
          acme:
            checks:
              web: {type: tcp, port: 80}
              web: {type: tcp, port: 81}
            zones:
              example.com.:
                records:
                  mail: {type: A, value: 192.0.2.1}
                  www:
                    - {type: A, value: 192.0.2.2}
                    - {type: A, value: 192.0.2.3}
        """
    )
    assert found == [
        "p.yaml:5:7: duplicate key 'web' (first at line 4); YAML would silently keep only the last one: "
        "merge them or rename one",
        "p.yaml:12:15: rrset:example.com./www/A is defined twice (first at line 11); "
        "merge the two definitions",
    ]


def test_duplicate_record_name_keys() -> None:
    found = problems(
        """
        tenants:
          acme:
            zones:
              example.com.:
                records:
                  www: {type: A, value: 192.0.2.1}
                  www: {type: AAAA, value: '2001:db8::1'}
        """
    )
    assert found == [
        "p.yaml:7:11: duplicate key 'www' (first at line 6); YAML would silently keep only the last one: "
        "merge them or rename one"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "tenants:\n  - acme\n",
            "p.yaml:2:3: tenants must be a mapping of tenant name to tenant, not a list",
        ),
        (
            "tenant:\n  acme: {}\n",
            "p.yaml:1:1: unknown top-level key 'tenant'; a policy file has only tenants",
        ),
        (
            "just text\n",
            "p.yaml:1:1: a policy file is a mapping with one key, 'tenants', mapping tenant names to "
            "tenants, not the scalar 'just text'",
        ),
        (
            "",
            "p.yaml:1:1: a policy file is a mapping with one key, 'tenants', mapping tenant names to tenants",
        ),
        ("tenants:\n  acme: [zones]\n", "p.yaml:2:9: tenant 'acme' must be a mapping, not a list"),
    ],
)
def test_wrong_top_level_shapes(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_wrong_nested_shapes() -> None:
    found = problems(
        """
        tenants:
          acme:
            checks: [web]
            zones:
              example.com.:
                records:
                  www: 192.0.2.1
                  mail: [{type: MX, value: 5}]
        """
    )
    assert found == [
        "p.yaml:3:13: checks of tenant 'acme' must be a mapping, not a list",
        "p.yaml:7:16: record 'www' in zone example.com. must be a mapping with 'type' and 'value' or "
        "'values' (or a list of them), not the scalar '192.0.2.1'",
        "p.yaml:8:36: rrset:example.com./mail/MX/values/0: "
        "Input should be a valid dictionary or instance of MxValue",
    ]


def test_fields_given_by_keys_must_not_be_repeated() -> None:
    found = problems(
        """
        tenants:
          acme:
            checks:
              web: {type: tcp, port: 80, tenant: other, name: x}
            zones:
              example.com.:
                tenant: globex
                records:
                  www: {type: A, value: 192.0.2.1, name: www2}
        """
    )
    assert found == [
        "p.yaml:4:34: check:acme/web: remove 'tenant'; it comes from the enclosing tenant",
        "p.yaml:4:49: check:acme/web: remove 'name'; it comes from the key naming it",
        "p.yaml:7:9: zone example.com.: remove 'tenant'; it comes from the enclosing tenant",
        "p.yaml:9:44: rrset:example.com./www/A: remove 'name'; it comes from the record's key",
    ]


def test_record_value_problems() -> None:
    found = problems(
        """
        tenants:
          acme:
            zones:
              example.com.:
                records:
                  www: {type: A, value: 192.0.2.1, values: [192.0.2.2]}
                  t: {type: TLSA, value: {certificate_usage: 3, selector: 1}}
                  mx: {type: MX, value: {priority: 10, preference: 20, exchange: a.example.com.}}
                  al: {type: ALIAS, value: a.example.com.}
                  notype: {value: 192.0.2.4}
                  bad: {type: SSHFP, value: {algorithm: 4, fingerprint_type: 2, fingerprint: zz}}
        """
    )
    assert [message.split("; supported")[0] for message in found] == [
        "p.yaml:6:52: rrset:example.com./www/A/values: give either 'value' or 'values', not both",
        "p.yaml:7:34: rrset:example.com./t/TLSA/values/0: missing matching_type, "
        "certificate_association_data: a TLSA value has the fields certificate_usage, selector, "
        "matching_type, certificate_association_data",
        "p.yaml:8:33: rrset:example.com./mx/MX/values/0: give either 'preference' or its legacy name "
        "'priority', not both",
        "p.yaml:9:22: rrset:example.com./al/ALIAS/type: unsupported record type 'ALIAS'",
        "p.yaml:10:11: rrset:example.com./notype/?/type: required field 'type' is missing",
        "p.yaml:11:37: rrset:example.com./bad/SSHFP/values: value 0 ('4 2 zz'): "
        "not a valid SSHFP value in zone-file syntax: Non-hexadecimal digit found",
    ]


def test_legacy_mx_names_are_located_under_their_own_keys() -> None:
    (found,) = problems(
        """
        tenants:
          acme:
            zones:
              example.com.:
                records:
                  mx:
                    type: MX
                    values:
                      - {priority: 99999, value: mail.example.com.}
        """
    )
    assert found == (
        "p.yaml:9:28: rrset:example.com./mx/MX/values/0/preference: "
        "Input should be less than or equal to 65535"
    )


def test_yaml_tags_that_safe_load_refuses() -> None:
    (found,) = problems("tenants: !!python/object:os.system {}\n")
    assert found.startswith("p.yaml:1:10: invalid YAML: could not determine a constructor")
