"""The native policy file: `tenants:` -> each tenant's settings, objects and zones (see FORMAT.md).

The file is authoritative for every tenant it lists; see `scope.py` for exactly what that covers.
"""

from __future__ import annotations

from typing import Any

import yaml

from gslb.importer.collector import Collector
from gslb.importer.locator import Position, YamlSource, child_node, key_node, node_position
from gslb.importer.records import add_zone_records
from gslb.importer.result import ImportedPolicy
from gslb.importer.scope import ImportScope
from gslb.importer.yamltree import YamlProblem, describe, is_null, key_text, mapping_items, to_python
from gslb.policy import TenantSpec, ZoneSpec
from gslb.policy.base import normalize_fqdn

TOP_LEVEL_KEYS = ("tenants",)
# Section of a tenant -> document kind of each entry.
SECTIONS = {
    "checks": "check",
    "vips": "vip",
    "upstreams": "upstream",
    "routes": "route",
    "anycast": "anycast",
}
TENANT_FIELDS = tuple(name for name in TenantSpec.model_fields if name != "name")
ZONE_FIELDS = tuple(name for name in ZoneSpec.model_fields if name not in ("name", "tenant"))


def load_policy_yaml(text: str, *, filename: str) -> ImportedPolicy:
    """Parse a native policy file; raises PolicyImportError listing every located problem."""
    collector = Collector(filename)
    root = collector.read_yaml(text)
    tenants: set[str] = set()
    try:
        tenants_node = _tenants_node(root)
        for tenant_key, tenant_node in mapping_items(tenants_node, "tenants"):
            tenants.add(key_text(tenant_key))
            _load_tenant(collector, tenant_key, tenant_node)
    except YamlProblem as exc:
        collector.yaml_problem(exc)
    return collector.result(ImportScope.for_tenants(tenants))


def _tenants_node(root: yaml.Node | None) -> yaml.Node:
    if is_null(root):
        raise YamlProblem(node_position(root) if root is not None else Position(1, 1), _TOP_LEVEL_HINT)
    assert root is not None
    if not isinstance(root, yaml.MappingNode):
        raise YamlProblem(node_position(root), f"{_TOP_LEVEL_HINT}, not {describe(root)}")
    items = mapping_items(root, "the top level")
    for key, _ in items:
        if key_text(key) not in TOP_LEVEL_KEYS:
            raise YamlProblem(
                node_position(key),
                f"unknown top-level key {key_text(key)!r}; "
                f"a policy file has only {', '.join(TOP_LEVEL_KEYS)}",
            )
    node = child_node(root, "tenants")
    if node is None:
        raise YamlProblem(node_position(root), _TOP_LEVEL_HINT)
    if not isinstance(node, yaml.MappingNode) and not is_null(node):
        raise YamlProblem(
            node_position(node), f"tenants must be a mapping of tenant name to tenant, not {describe(node)}"
        )
    return node


_TOP_LEVEL_HINT = "a policy file is a mapping with one key, 'tenants', mapping tenant names to tenants"


def _load_tenant(collector: Collector, tenant_key: yaml.Node, node: yaml.Node) -> None:
    tenant = key_text(tenant_key)
    if not is_null(node) and not isinstance(node, yaml.MappingNode):
        raise YamlProblem(node_position(node), f"tenant {tenant!r} must be a mapping, not {describe(node)}")
    body: dict[str, Any] = {"name": tenant}
    for key, value in mapping_items(node, f"tenant {tenant!r}"):
        field = key_text(key)
        try:
            if field in TENANT_FIELDS:
                body[field] = to_python(value)
            elif field in SECTIONS:
                _load_section(collector, value, kind=SECTIONS[field], section=field, tenant_key=tenant_key)
            elif field == "zones":
                _load_zones(collector, value, tenant_key=tenant_key)
            else:
                known = ", ".join((*TENANT_FIELDS, *SECTIONS, "zones"))
                raise YamlProblem(
                    node_position(key), f"unknown key {field!r} in tenant {tenant!r}; use one of: {known}"
                )
        except YamlProblem as exc:
            collector.yaml_problem(exc)
    root = node if not is_null(node) else tenant_key
    collector.add("tenant", body, YamlSource(root, tenant_key, {"/name": tenant_key}))


def _object_body(
    collector: Collector, node: yaml.Node, injected: dict[str, tuple[Any, str]], what: str
) -> dict[str, Any] | None:
    """A document body from a YAML mapping plus fields its keys give (field -> (value, from where))."""
    if not isinstance(node, yaml.MappingNode):
        raise YamlProblem(node_position(node), f"{what} must be a mapping, not {describe(node)}")
    data = to_python(node)
    ok = True
    for field, (_, origin) in injected.items():
        if field in data:
            collector.problem(
                node_position(key_node(node, field) or node),
                f"{what}: remove {field!r}; it comes from {origin}",
            )
            ok = False
    return {**{field: value for field, (value, _) in injected.items()}, **data} if ok else None


def _load_section(
    collector: Collector, node: yaml.Node, *, kind: str, section: str, tenant_key: yaml.Node
) -> None:
    tenant = key_text(tenant_key)
    for name_key, object_node in mapping_items(node, f"{section} of tenant {tenant!r}"):
        name = key_text(name_key)
        try:
            injected = {"tenant": (tenant, "the enclosing tenant"), "name": (name, "the key naming it")}
            body = _object_body(collector, object_node, injected, f"{kind}:{tenant}/{name}")
        except YamlProblem as exc:
            collector.yaml_problem(exc)
            continue
        if body is not None:
            source = YamlSource(object_node, name_key, {"/tenant": tenant_key, "/name": name_key})
            collector.add(kind, body, source)


def _load_zones(collector: Collector, node: yaml.Node, *, tenant_key: yaml.Node) -> None:
    tenant = key_text(tenant_key)
    for zone_key, zone_node in mapping_items(node, f"zones of tenant {tenant!r}"):
        zone = key_text(zone_key)
        try:
            _load_zone(collector, zone_key, zone_node, tenant_key=tenant_key)
        except YamlProblem as exc:
            collector.yaml_problem(exc)
            continue
        try:
            zone_name = normalize_fqdn(zone)
        except ValueError:
            continue  # reported on the zone document; its records would only repeat it
        add_zone_records(collector, child_node(zone_node, "records"), zone=zone_name, zone_key=zone_key)


def _load_zone(collector: Collector, zone_key: yaml.Node, node: yaml.Node, *, tenant_key: yaml.Node) -> None:
    zone = key_text(zone_key)
    body: dict[str, Any] = {"name": zone, "tenant": key_text(tenant_key)}
    for key, value in mapping_items(node, f"zone {zone}"):
        field = key_text(key)
        if field in ZONE_FIELDS:
            body[field] = to_python(value)
        elif field in ("name", "tenant"):
            origin = "the key naming the zone" if field == "name" else "the enclosing tenant"
            collector.problem(node_position(key), f"zone {zone}: remove {field!r}; it comes from {origin}")
        elif field != "records":
            known = ", ".join((*ZONE_FIELDS, "records"))
            collector.problem(
                node_position(key), f"unknown key {field!r} in zone {zone}; use one of: {known}"
            )
    root = node if not is_null(node) else zone_key
    collector.add("zone", body, YamlSource(root, zone_key, {"/name": zone_key, "/tenant": tenant_key}))
