"""octoDNS zone YAML (record name -> record, or list of records) -> record-set documents.

Shared by the native format (a zone's `records:`) and bare octoDNS zone files. Each record keeps
a source that maps the stored body back to the YAML: `zone` and `name` to the key naming the
record, `values/0` to a single `value`, MX `preference` to a legacy `priority`.
"""

from __future__ import annotations

from typing import Any

import yaml

from gslb.importer.collector import Collector
from gslb.importer.locator import YamlSource, child_node, key_node, node_position
from gslb.importer.values import from_octodns
from gslb.importer.yamltree import YamlProblem, describe, key_text, mapping_items, to_python
from gslb.policy import APEX, Problem

_INJECTED = ("zone", "name")


def relative_name(key: str) -> str:
    """octoDNS names the apex ''; the model names it '@'. Other names are case-insensitive."""
    return APEX if key in ("", APEX) else key.lower()


def add_zone_records(
    collector: Collector, records: yaml.Node | None, *, zone: str, zone_key: yaml.Node
) -> None:
    """Every record of one octoDNS zone mapping; `zone_key` is reported for the (injected) zone field."""
    try:
        entries = mapping_items(records, f"the records of zone {zone}")
    except YamlProblem as exc:
        collector.yaml_problem(exc)
        return
    for name_key, entry in entries:
        try:
            name = relative_name(key_text(name_key))
        except YamlProblem as exc:
            collector.yaml_problem(exc)
            continue
        # In a list, the record's own mapping names it better than the key the list shares.
        found: list[tuple[yaml.Node, yaml.Node]] = (
            [(item, item) for item in entry.value]
            if isinstance(entry, yaml.SequenceNode)
            else [(entry, name_key)]
        )
        for node, anchor in found:
            try:
                _add_record(collector, node, zone=zone, name=name, anchor=anchor, keys=(zone_key, name_key))
            except YamlProblem as exc:
                collector.yaml_problem(exc)


def _add_record(
    collector: Collector,
    node: yaml.Node,
    *,
    zone: str,
    name: str,
    anchor: yaml.Node,
    keys: tuple[yaml.Node, yaml.Node],
) -> None:
    zone_key, name_key = keys
    if not isinstance(node, yaml.MappingNode):
        raise YamlProblem(
            node_position(node),
            f"record {name!r} in zone {zone} must be a mapping with 'type' and 'value' or 'values' "
            f"(or a list of them), not {describe(node)}",
        )
    data: dict[Any, Any] = to_python(node)
    aliases: dict[str, yaml.Node] = {"/zone": zone_key, "/name": name_key}
    label = f"rrset:{zone}/{name}/{str(data.get('type', '?')).upper()}"
    problems: list[Problem] = []

    for field in _INJECTED:
        if field in data:
            del data[field]
            where = f"the key {zone!r}" if field == "zone" else "the record's key"
            collector.problem(
                node_position(key_node(node, field) or node),
                f"{label}: remove {field!r}; it comes from {where}",
            )
    if "octodns" in data:
        del data["octodns"]
        collector.warn(
            node_position(key_node(node, "octodns") or node),
            f"{label}: 'octodns' settings (provider hints, healthcheck) are ignored; use 'dynamic' "
            "pools with health_check instead",
        )

    rdtype = data["type"].upper() if isinstance(data.get("type"), str) else None
    values_node: yaml.Node | None = None
    single = False
    raw: Any = None
    if "value" in data and "values" in data:
        problems.append(Problem("give either 'value' or 'values', not both", "/values", label))
    elif "value" in data:
        raw, values_node, single = [data.pop("value")], child_node(node, "value"), True
    elif "values" in data:
        raw, values_node = data.pop("values"), child_node(node, "values")
        if not isinstance(raw, list):
            raw, single = [raw], True
    if values_node is not None and single:
        aliases["/values"] = aliases["/values/0"] = values_node

    body: dict[Any, Any] = {"zone": zone, "name": name, **data}
    if raw is not None:
        converted = []
        for index, value in enumerate(raw):
            try:
                value, renamed = from_octodns(rdtype, value)
            except ValueError as exc:
                problems.append(Problem(str(exc), f"/values/{index}", label))
                continue
            item_node = values_node if single else _item(values_node, index)
            for field, yaml_key in renamed.items():
                renamed_node = child_node(item_node, yaml_key) if item_node is not None else None
                if renamed_node is not None:
                    aliases[f"/values/{index}/{field}"] = renamed_node
            converted.append(value)
        body["values"] = converted
    source = YamlSource(node, anchor, aliases)
    for problem in problems:
        collector.report(source, problem)
    if not problems:
        collector.add("rrset", body, source)


def _item(node: yaml.Node | None, index: int) -> yaml.Node | None:
    return child_node(node, str(index)) if node is not None else None
