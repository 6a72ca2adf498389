"""The zone a zone-file import writes into, checked before any file content is read."""

from __future__ import annotations

from gslb.importer.collector import Collector
from gslb.importer.locator import LineSource
from gslb.importer.scope import ImportScope
from gslb.policy import PolicyError, parse_document
from gslb.policy.base import normalize_fqdn


def zone_target(
    collector: Collector, *, zone: str, tenant: str | None, create_zone: bool
) -> tuple[str, ImportScope]:
    """The normalised zone name and the import scope; with `create_zone`, the zone document too.

    Raises ValueError for bad arguments: they come from the command line, not from the file.
    """
    try:
        name = normalize_fqdn(zone)
    except ValueError as exc:
        raise ValueError(f"zone {zone!r}: {exc}") from None
    if create_zone:
        if tenant is None:
            raise ValueError("create_zone needs the tenant that will own the zone")
        try:
            spec = parse_document("zone", {"name": name, "tenant": tenant})
        except PolicyError as exc:
            raise ValueError(f"cannot create zone {name} for tenant {tenant!r}: {exc}") from None
        # Problems about the zone as a whole (no apex NS, say) are the file's: point at its start.
        collector.sources[f"zone:{name}"] = LineSource((1,))
        collector.specs.append(spec)
    return name, ImportScope.for_zone(name, create_zone=create_zone)
