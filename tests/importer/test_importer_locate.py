"""Problems found on the merged state (gslb.policy.validate) located back to FILE:LINE."""

from __future__ import annotations

import textwrap

import pytest

from gslb.importer import PolicyImportError, load_octodns_zone_yaml, load_policy_yaml, validate_import
from gslb.policy import PolicySet, Problem, parse_document, validate

POLICY = textwrap.dedent(
    """\
    tenants:
      acme:
        checks:
          web: {type: tcp, port: 80}
        zones:
          example.com.:
            records:
              '':
                - {type: NS, values: [ns1.example.com.]}
              www:
                type: A
                dynamic:
                  pools:
                    eu:
                      values: [{value: 192.0.2.1, health_check: missing}]
                      fallback: nowhere
                  rules:
                    - {geos: [EU], pool: eu}
                    - pool: ghost
              cname: {type: CNAME, value: www.example.com.}
              cname2:
                - {type: CNAME, value: www.example.com.}
                - {type: TXT, value: hello}
          example.org.:
            records: {}
    """
)


def located(text: str = POLICY) -> list[str]:
    imported = load_policy_yaml(text, filename="p.yaml")
    return [imported.locate(problem) for problem in validate(PolicySet.from_specs(imported.specs))]


def test_validate_problems_point_at_their_lines() -> None:
    assert located() == [
        "p.yaml:22:22: rrset:example.com./cname2/CNAME/type: CNAME at cname2.example.com. cannot coexist "
        "with other data (TXT); remove them or use the target's records directly",
        "p.yaml:15:61: rrset:example.com./www/A/dynamic/pools/eu/values/0/health_check: "
        "health check 'missing' does not exist in tenant 'acme'",
        "p.yaml:16:29: rrset:example.com./www/A/dynamic/pools/eu/fallback: "
        "fallback pool 'nowhere' is not defined in this record's pools",
        "p.yaml:19:25: rrset:example.com./www/A/dynamic/rules/1/pool: pool 'ghost' is not defined in this "
        "record's pools",
        # Problems about a whole document point at the key naming it.
        "p.yaml:24:7: zone:example.org.: zone example.org. has no NS record set at its apex; add one "
        "(name '@', type NS, values like 'ns1.example.org.')",
    ]


def test_locate_falls_back_to_the_deepest_node_and_to_the_document_key() -> None:
    imported = load_policy_yaml(POLICY, filename="p.yaml")
    key = "rrset:example.com./www/A"
    # A pointer deeper than the YAML goes stops at the last node found (the pool member).
    assert imported.locate(Problem("x", "/dynamic/pools/eu/values/0/nonexistent/deeper", key)).startswith(
        "p.yaml:15:28:"
    )
    # Injected fields map to the keys that gave them.
    assert imported.locate(Problem("x", "/name", key)).startswith("p.yaml:10:11:")
    assert imported.locate(Problem("x", "/zone", key)).startswith("p.yaml:6:7:")
    assert imported.locate(Problem("x", "/tenant", "check:acme/web")).startswith("p.yaml:2:3:")
    assert imported.locate(Problem("x", "/values/0", "rrset:example.com./cname/CNAME")).startswith(
        "p.yaml:20:39:"
    )
    # A field the document lacks: the key naming the document.
    assert imported.locate(Problem("x", "/ttl", key)).startswith("p.yaml:10:11:")
    # A document not in the file.
    assert imported.locate(Problem("gone", "/x", "zone:other.test.")) == (
        "p.yaml: zone:other.test./x: gone (stored document, not in this file)"
    )


def _zone_state() -> PolicySet:
    return PolicySet.from_specs(
        [
            parse_document("tenant", {"name": "acme"}),
            parse_document("tenant", {"name": "globex"}),
            parse_document("zone", {"name": "example.com.", "tenant": "acme"}),
            parse_document("rrset", {"zone": "example.com.", "type": "NS", "values": ["ns1.example.com."]}),
            # A pre-existing problem elsewhere must not block unrelated imports.
            parse_document("zone", {"name": "broken.test.", "tenant": "globex"}),
        ]
    )


def test_validate_import_reports_only_problems_of_the_file_or_new_ones() -> None:
    current = _zone_state()
    good = load_policy_yaml(
        "tenants:\n  acme:\n    zones:\n      example.com.:\n        records:\n"
        "          '': {type: NS, value: ns1.example.com.}\n          www: {type: A, value: 192.0.2.1}\n",
        filename="good.yaml",
    )
    plan = validate_import(good, current)
    assert [change.key for change in plan.creates] == ["rrset:example.com./www/A"]

    bad = load_policy_yaml(POLICY, filename="p.yaml")
    with pytest.raises(PolicyImportError) as excinfo:
        validate_import(bad, current)
    assert len(excinfo.value.messages) == 5
    assert all(message.startswith("p.yaml:") for message in excinfo.value.messages)
    assert not any("broken.test" in message for message in excinfo.value.messages)


def test_zone_import_breaking_a_stored_document_names_the_file() -> None:
    imported = load_octodns_zone_yaml(
        "www: {type: A, value: 192.0.2.1}\n", filename="example.com.yaml", zone="example.com.", tenant="acme"
    )
    with pytest.raises(PolicyImportError) as excinfo:
        validate_import(imported, _zone_state())
    assert excinfo.value.messages == [
        "example.com.yaml: zone:example.com.: zone example.com. has no NS record set at its apex; add one "
        "(name '@', type NS, values like 'ns1.example.com.') (stored document, not in this file)"
    ]


def test_zone_import_checks_the_owning_tenant() -> None:
    imported = load_octodns_zone_yaml(
        "'': {type: NS, value: ns1.example.com.}\n", filename="z.yaml", zone="example.com.", tenant="globex"
    )
    with pytest.raises(PolicyImportError) as excinfo:
        validate_import(imported, _zone_state())
    assert excinfo.value.messages == ["z.yaml: zone example.com. belongs to tenant 'acme', not 'globex'"]
