"""Plans: creates/updates/deletes within scope, merge mode, rendering, store ops and the --force guard."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from gslb.importer import (
    ImportScope,
    ScopeError,
    load_octodns_zone_yaml,
    load_policy_yaml,
    plan_changes,
    require_force,
)
from gslb.policy import PolicySet, parse_document


def spec(kind: str, **body: Any) -> Any:
    return parse_document(kind, body)


def rrset(zone: str, name: str, rdtype: str, *values: Any) -> Any:
    return spec("rrset", zone=zone, name=name, type=rdtype, values=list(values))


def current_state() -> PolicySet:
    return PolicySet.from_specs(
        [
            spec("tenant", name="acme"),
            spec("tenant", name="acme-eu", parent="acme"),
            spec("tenant", name="globex"),
            spec("zone", name="example.com.", tenant="acme"),
            spec("zone", name="old.example.", tenant="acme"),
            spec("zone", name="eu.example.com.", tenant="acme-eu"),
            spec("zone", name="globex.test.", tenant="globex"),
            spec("check", tenant="acme", name="web", type="tcp", port=80),
            spec("check", tenant="acme", name="gone", type="tcp", port=81),
            spec("check", tenant="globex", name="web", type="tcp", port=80),
            rrset("example.com.", "@", "NS", "ns1.example.com."),
            rrset("example.com.", "www", "A", "192.0.2.1"),
            rrset("example.com.", "old", "A", "192.0.2.9"),
            rrset("old.example.", "@", "NS", "ns1.example.com."),
            rrset("eu.example.com.", "@", "NS", "ns1.example.com."),
            rrset("globex.test.", "@", "NS", "ns1.globex.test."),
        ]
    )


ACME = textwrap.dedent(
    """\
    tenants:
      acme:
        checks:
          web: {type: tcp, port: 80}
          new: {type: tcp, port: 82}
        zones:
          example.com.:
            records:
              '': {type: NS, value: ns1.example.com.}
              www: {type: A, values: [192.0.2.2, 192.0.2.3]}
              api: {type: CNAME, value: www.example.com.}
    """
)


def keys(changes: Any) -> list[str]:
    return [change.key for change in changes]


def test_tenant_file_creates_updates_and_deletes_only_its_tenant() -> None:
    plan = load_policy_yaml(ACME, filename="acme.yaml").plan(current_state())
    assert keys(plan.creates) == ["check:acme/new", "rrset:example.com./api/CNAME"]
    assert keys(plan.updates) == ["rrset:example.com./www/A"]
    assert keys(plan.deletes) == [
        "zone:old.example.",
        "check:acme/gone",
        "rrset:example.com./old/A",
        "rrset:old.example./@/NS",
    ]
    touched = {change.key for change in plan.changes()}
    # Neither the child organisation nor another tenant is touched.
    assert not any("eu.example.com." in key or "globex" in key or "acme-eu" in key for key in touched)


def test_merge_never_deletes() -> None:
    plan = load_policy_yaml(ACME, filename="acme.yaml").plan(current_state(), merge=True)
    assert plan.deletes == ()
    assert keys(plan.creates) == ["check:acme/new", "rrset:example.com./api/CNAME"]
    assert keys(plan.updates) == ["rrset:example.com./www/A"]


def test_listing_the_child_tenant_brings_it_into_scope() -> None:
    text = ACME + "  acme-eu:\n    parent: acme\n"
    plan = load_policy_yaml(text, filename="acme.yaml").plan(current_state())
    assert "zone:eu.example.com." in keys(plan.deletes)
    assert "rrset:eu.example.com./@/NS" in keys(plan.deletes)
    assert "tenant:globex" not in keys(plan.deletes)


def test_an_unchanged_state_plans_nothing_even_after_a_store_round_trip() -> None:
    imported = load_policy_yaml(ACME, filename="acme.yaml")
    # What the store holds is the JSON body; parsing it back must compare equal (no IPv4Address/str
    # or default-vs-explicit differences).
    stored = PolicySet.from_specs(
        parse_document(key.partition(":")[0], spec.to_body()) for key, spec in imported.by_key().items()
    )
    plan = imported.plan(stored)
    assert plan.is_empty
    assert plan.render() == "No changes."


def test_value_order_is_significant() -> None:
    imported = load_policy_yaml(
        ACME.replace("[192.0.2.2, 192.0.2.3]", "[192.0.2.3, 192.0.2.2]"), filename="a.yaml"
    )
    stored = PolicySet.from_specs(load_policy_yaml(ACME, filename="acme.yaml").specs)
    assert keys(imported.plan(stored).updates) == ["rrset:example.com./www/A"]


def test_render_is_a_sorted_readable_diff() -> None:
    plan = load_policy_yaml(ACME, filename="acme.yaml").plan(current_state())
    assert plan.render() == "\n".join(
        [
            "- zone:old.example.",
            "- check:acme/gone",
            '+ check:acme/new {"tenant": "acme", "name": "new", "port": 82, "type": "tcp"}',
            '+ rrset:example.com./api/CNAME {"zone": "example.com.", "name": "api", "type": "CNAME", '
            '"values": ["www.example.com."]}',
            "- rrset:example.com./old/A",
            "~ rrset:example.com./www/A",
            '    /values: ["192.0.2.1"] -> ["192.0.2.2", "192.0.2.3"]',
            "- rrset:old.example./@/NS",
            "2 to create, 1 to update, 4 to delete",
        ]
    )


def test_render_shows_nested_field_changes_and_defaults() -> None:
    old = spec("check", tenant="acme", name="web", type="http", port=80, path="/a")
    new = spec("check", tenant="acme", name="web", type="http", port=80, interval=5, timeout=1)
    plan = plan_changes(PolicySet.from_specs([old]), [new], ImportScope.for_tenants(["acme"]), merge=True)
    assert plan.render().splitlines() == [
        "~ check:acme/web",
        '    /path: "/a" -> (default)',
        "    /interval: (default) -> 5.0",
        "    /timeout: (default) -> 1.0",
        "0 to create, 1 to update, 0 to delete",
    ]


def test_ops_are_parents_first_with_expected_revisions() -> None:
    plan = load_policy_yaml(ACME, filename="acme.yaml").plan(current_state())
    ops = plan.ops({"rrset:example.com./www/A": 7, "check:acme/gone": 3})
    assert [(key, spec is None, expected) for key, spec, expected in ops] == [
        ("check:acme/new", False, 0),
        ("rrset:example.com./api/CNAME", False, 0),
        ("rrset:example.com./www/A", False, 7),
        ("rrset:old.example./@/NS", True, None),
        ("rrset:example.com./old/A", True, None),
        ("check:acme/gone", True, 3),
        ("zone:old.example.", True, None),
    ]
    assert plan.apply(current_state()).docs["rrset:example.com./www/A"].values[1].exploded == "192.0.2.3"


def test_a_file_cannot_take_over_another_tenants_documents() -> None:
    text = (
        "tenants:\n  acme:\n    zones:\n      globex.test.:\n        records: {'': {type: NS, value: x.}}\n"
    )
    with pytest.raises(ScopeError) as excinfo:
        load_policy_yaml(text, filename="acme.yaml").plan(current_state())
    assert excinfo.value.messages == [
        "zone:globex.test. belongs to tenant 'globex', which this import does not cover",
        "rrset:globex.test./@/NS belongs to tenant 'globex', which this import does not cover",
    ]


def test_desired_documents_outside_the_scope_are_refused() -> None:
    with pytest.raises(ScopeError, match="outside this import's scope"):
        plan_changes(
            PolicySet(), [rrset("other.test.", "@", "NS", "ns.x.")], ImportScope.for_zone("example.com.")
        )


def test_zone_file_scope_replaces_only_that_zones_record_sets() -> None:
    imported = load_octodns_zone_yaml(
        "'': {type: NS, value: ns1.example.com.}\nmail: {type: A, value: 192.0.2.25}\n",
        filename="example.com.yaml",
        zone="example.com.",
    )
    plan = imported.plan(current_state())
    assert keys(plan.creates) == ["rrset:example.com./mail/A"]
    assert keys(plan.updates) == []
    assert keys(plan.deletes) == ["rrset:example.com./old/A", "rrset:example.com./www/A"]
    assert keys(imported.plan(current_state(), merge=True).deletes) == []


# --- the --force guard ------------------------------------------------------------------------


def big_zone(size: int) -> list[Any]:
    records = [rrset("big.test.", "@", "NS", "ns1.big.test.")]
    records += [rrset("big.test.", f"h{index}", "A", "192.0.2.1") for index in range(1, size)]
    return [spec("tenant", name="acme"), spec("zone", name="big.test.", tenant="acme"), *records]


def plan_for(current: list[Any], desired: list[Any]) -> Any:
    return plan_changes(PolicySet.from_specs(current), desired, ImportScope.for_tenants(["acme"]))


def test_31_percent_is_flagged_and_30_percent_is_not() -> None:
    current = big_zone(100)
    at_30 = plan_for(current, current[:-30])
    assert at_30.risky_zones() == {}
    assert require_force(at_30) == []
    at_31 = plan_for(current, current[:-31])
    assert at_31.risky_zones() == {"big.test.": (31, 100)}
    assert require_force(at_31) == [
        "zone big.test.: 31 of 100 record sets (31%) would be deleted or changed, more than the 30% allowed "
        "without --force; check that this is the right file, then re-run with --force"
    ]


def test_updates_count_like_deletes_and_creates_do_not() -> None:
    current = big_zone(100)
    desired = current[:-20]
    desired = [*desired[:-11], *(rrset("big.test.", r.name, "A", "192.0.2.2") for r in desired[-11:])]
    desired += [rrset("big.test.", f"new{index}", "A", "192.0.2.3") for index in range(50)]
    plan = plan_for(current, desired)
    assert (len(plan.deletes), len(plan.updates), len(plan.creates)) == (20, 11, 50)
    assert plan.risky_zones() == {"big.test.": (31, 100)}
    assert plan.risky_zones(threshold=0.31) == {}


def test_deleted_zones_count_fully_and_new_zones_never() -> None:
    current = big_zone(3)
    plan = plan_for(current, [current[0]])
    assert plan.risky_zones() == {"big.test.": (3, 3)}
    assert require_force(plan) == [
        "zone big.test. would be deleted with all 3 of its record sets; "
        "re-run with --force if that is intended"
    ]
    created = plan_for([current[0]], current)
    assert created.risky_zones() == {}


def test_render_pinpoints_a_changed_pool_member() -> None:
    body: dict[str, Any] = {
        "zone": "example.com.",
        "name": "www",
        "type": "A",
        "dynamic": {
            "pools": {"eu": {"values": [{"value": "192.0.2.1"}, {"value": "192.0.2.2"}]}},
            "rules": [{"pool": "eu"}],
        },
    }
    old = parse_document("rrset", body)
    body["dynamic"]["pools"]["eu"]["values"][1]["weight"] = 5
    plan = plan_changes(
        PolicySet.from_specs([old]), [parse_document("rrset", body)], ImportScope.for_zone("example.com.")
    )
    assert plan.render().splitlines()[:2] == [
        "~ rrset:example.com./www/A",
        "    /dynamic/pools/eu/values/1/weight: (default) -> 5",
    ]
