"""PolicySet -> the native YAML format, such that loading it back gives exactly the same documents.

Stable output (tenants by name, objects by name, records by owner with the apex '' first, then by
type) so exports diff cleanly in version control. Values are always written as `values` lists,
even for one value: one shape is simpler to read, edit and diff, and octoDNS accepts `values` for
every type. Record values use octoDNS's forms (TXT with '\\;', TLSA/SSHFP/DS/NAPTR as field
dictionaries) so a zone's `records:` can be pasted into an octoDNS zone file.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import yaml

from gslb.importer.native import SECTIONS
from gslb.importer.values import to_octodns
from gslb.policy import APEX, PolicySet, kind_of

_KIND_SECTION = {kind: section for section, kind in SECTIONS.items()}
_RECORD_FIRST = ("type", "ttl", "values")


def export_policy_yaml(policy: PolicySet, *, tenants: Collection[str] | None = None) -> str:
    """The native file for `tenants` (all tenants when None). Documents no tenant owns (record sets
    of a missing zone, objects of a missing tenant) cannot be written in this format and are left out.
    """
    known = policy.of_kind("tenant")
    if tenants is None:
        names = sorted(known)
    else:
        missing = sorted(set(tenants) - set(known))
        if missing:
            raise ValueError(f"no such tenant: {', '.join(missing)}")
        names = sorted(set(tenants))
    tree: dict[str, dict[str, Any]] = {name: _body(known[name], "name") for name in names}
    sections: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in names}
    zones: dict[str, dict[str, Any]] = {}
    records: dict[str, list[Any]] = {}
    for spec in policy.docs.values():
        kind = kind_of(spec)
        if kind in _KIND_SECTION and spec.tenant in sections:
            objects = sections[spec.tenant].setdefault(_KIND_SECTION[kind], {})
            objects[spec.name] = _body(spec, "tenant", "name")
        elif kind == "zone" and spec.tenant in sections:
            zones[spec.name] = {"tenant": spec.tenant, **_body(spec, "name", "tenant")}
        elif kind == "rrset":
            records.setdefault(spec.zone, []).append(spec)
    for name in names:
        for section_name in SECTIONS:
            if section_name in sections[name]:
                tree[name][section_name] = dict(sorted(sections[name][section_name].items()))
    for zone_name in sorted(zones):
        zone_body = zones[zone_name]
        owner = zone_body.pop("tenant")
        zone_body["records"] = _records(records.get(zone_name, []))
        tree[owner].setdefault("zones", {})[zone_name] = zone_body
    header = f"# gslb policy export, store revision {policy.revision}\n"
    return header + yaml.dump(
        {"tenants": tree},
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )


class _Dumper(yaml.SafeDumper):
    """SafeDumper writing the apex key as `'':` rather than the valid but puzzling `? ''`."""

    def check_simple_key(self) -> bool:
        if isinstance(self.event, yaml.ScalarEvent) and self.event.value == "":
            return True
        return bool(super().check_simple_key())


def _body(spec: Any, *injected: str) -> dict[str, Any]:
    """The stored body without the fields the file's keys give, `type` first where there is one."""
    body = spec.to_body()
    for field in injected:
        body.pop(field, None)
    if "type" in body:
        body = {"type": body.pop("type"), **body}
    return body


def _records(specs: list[Any]) -> dict[str, Any]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for spec in sorted(specs, key=lambda spec: (spec.name != APEX, spec.name, spec.type)):
        by_name.setdefault("" if spec.name == APEX else spec.name, []).append(_record(spec))
    return {name: bodies[0] if len(bodies) == 1 else bodies for name, bodies in by_name.items()}


def _record(spec: Any) -> dict[str, Any]:
    body = _body(spec, "zone", "name")
    if "values" in body:
        body["values"] = [to_octodns(spec.type, value) for value in body["values"]]
    first = {field: body.pop(field) for field in _RECORD_FIRST if field in body}
    return {**first, **body}
