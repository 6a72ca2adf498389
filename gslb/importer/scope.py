"""What an import is authoritative for: the documents a plan may create, change and delete.

A native policy file speaks for whole tenants: every document they own (their tenant document,
zones with all record sets, checks, VIPs, upstreams, routes, anycast), and nothing of any other
tenant, child organisations included unless the file lists them too. A zone file (octoDNS or BIND)
speaks only for the record sets of its zone; the zone document itself stays untouched, except
that it may be created when missing (`ensure`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gslb.policy import kind_of

ZoneOwner = Callable[[str], "str | None"]


@dataclass(frozen=True, slots=True)
class ImportScope:
    tenants: frozenset[str] = field(default_factory=frozenset)
    zones: frozenset[str] = field(default_factory=frozenset)
    # Document keys to create when missing but never to update or delete: a zone created for a
    # zone-file import must not have its TTL or description reset by the next import.
    ensure: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_tenants(cls, tenants: Iterable[str]) -> ImportScope:
        return cls(tenants=frozenset(tenants))

    @classmethod
    def for_zone(cls, zone: str, *, create_zone: bool = False) -> ImportScope:
        return cls(zones=frozenset({zone}), ensure=frozenset({f"zone:{zone}"} if create_zone else ()))

    def covers(self, spec: Any, zone_owner: ZoneOwner) -> bool:
        """Whether `spec` is this import's to write or delete; record sets belong to their zone's owner."""
        kind = kind_of(spec)
        if kind == "rrset":
            return spec.zone in self.zones or zone_owner(spec.zone) in self.tenants
        if kind == "tenant":
            return spec.name in self.tenants
        return spec.tenant in self.tenants

    def describe(self) -> str:
        parts = []
        if self.tenants:
            parts.append("tenants " + ", ".join(sorted(self.tenants)))
        if self.zones:
            parts.append("record sets of " + ", ".join(sorted(self.zones)))
        return "; ".join(parts) or "nothing"
