"""A bare octoDNS zone file (top-level keys are record names) -> the record sets of one zone."""

from __future__ import annotations

from gslb.importer.collector import Collector
from gslb.importer.locator import Position
from gslb.importer.records import add_zone_records
from gslb.importer.result import ImportedPolicy
from gslb.importer.yamltree import is_null
from gslb.importer.zone_target import zone_target


def load_octodns_zone_yaml(
    text: str, *, filename: str, zone: str, tenant: str | None = None, create_zone: bool = False
) -> ImportedPolicy:
    """Parse an octoDNS `YamlProvider` zone file as the complete set of `zone`'s record sets.

    The zone document must exist in the store, or pass `create_zone` (with `tenant`) to create it
    when missing; an existing zone is never modified. `tenant`, when given, must own the zone
    (checked by `validate_import`). Raises PolicyImportError listing every located problem.
    """
    collector = Collector(filename)
    name, scope = zone_target(collector, zone=zone, tenant=tenant, create_zone=create_zone)
    root = collector.read_yaml(text)
    if not is_null(root):
        assert root is not None
        add_zone_records(collector, root, zone=name, zone_key=root)
    elif not collector.has_problems:
        collector.warn(Position(1), f"the file is empty: importing it removes every record set of {name}")
    return collector.result(scope, tenant=tenant)
