"""PolicyIndex: the parsed policy a node compiles from, indexed by zone and updated in place.

`PolicySet` is immutable and indexes lazily: right for validating a proposed write, but a node that
rebuilt one per change would pay for every document on every write (a third of a second with a
million record sets, past the 100 ms a change may take to reach the answers). A node's snapshot
feed owns one `PolicyIndex` instead: `put` and `delete` cost what changed and say which zones
to recompile, and `compile_index` / `recompile_index` build snapshots from it.

Not thread-safe and not shared: one owner mutates it between compiles.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from gslb.engine.health_view import HealthView
from gslb.engine.memo import CompileMemo
from gslb.engine.snapshot import Snapshot, ZoneSnapshot
from gslb.engine.zone import compile_zone
from gslb.policy.bulk import gc_paused
from gslb.policy.policyset import PolicySet
from gslb.policy.records import AnyRecordSet
from gslb.policy.tenancy import ZoneSpec

__all__ = ["PolicyIndex", "compile_index", "recompile_index"]


class PolicyIndex:
    def __init__(self) -> None:
        self.specs: dict[str, Any] = {}  # every document by store key ("rrset:example.com./www/A")
        self.zones: dict[str, ZoneSpec] = {}  # by zone name
        self.records: dict[str, dict[str, AnyRecordSet]] = {}  # zone name -> store key -> record set
        self.record_sets = 0

    def put(self, key: str, spec: Any) -> set[str]:
        """Add or replace a document; the zones whose answers it can change."""
        touched = self.delete(key)
        self.specs[key] = spec
        kind = key.partition(":")[0]
        if kind == "zone":
            self.zones[spec.name] = spec
            touched.add(spec.name)
        elif kind == "rrset":
            self.records.setdefault(spec.zone, {})[key] = spec
            self.record_sets += 1
            touched.add(spec.zone)
        return touched

    def delete(self, key: str) -> set[str]:
        """Remove a document if present; the zones whose answers that can change."""
        old = self.specs.pop(key, None)
        if old is None:
            return set()
        kind = key.partition(":")[0]
        if kind == "zone":
            self.zones.pop(old.name, None)
            return {old.name}
        if kind == "rrset":
            in_zone = self.records.get(old.zone)
            if in_zone is not None:
                in_zone.pop(key, None)
                if not in_zone:
                    del self.records[old.zone]
            self.record_sets -= 1
            return {old.zone}
        return set()

    def zones_of_tenants(self, tenants: Collection[str]) -> set[str]:
        return {name for name, zone in self.zones.items() if zone.tenant in tenants}

    def policy_set(self, revision: int) -> PolicySet:
        """An immutable copy for validation or explanation: O(all documents), not for every change."""
        return PolicySet(dict(self.specs), revision)


def compile_index(index: PolicyIndex, health: HealthView, *, revision: int) -> Snapshot:
    """Snapshot of every zone in `index`; `revision` is also the serial of zones whose SOA gives none."""
    with gc_paused():
        memo = CompileMemo()
        zones = {
            name: compile_zone(spec, _records(index, name), health, serial=revision, memo=memo)
            for name, spec in index.zones.items()
        }
    return Snapshot(revision, zones)


def recompile_index(
    previous: Snapshot, index: PolicyIndex, health: HealthView, *, zones: Collection[str], revision: int
) -> Snapshot:
    """`previous` with the named zones rebuilt, zones gone from `index` dropped, new ones built, and
    every other zone shared by reference (so it keeps its SOA serial: secondaries transfer only
    zones that really changed)."""
    with gc_paused():
        memo = CompileMemo()
        compiled: dict[str, ZoneSnapshot] = {}
        for name, spec in index.zones.items():
            kept = previous.zones.get(name)
            if kept is None or name in zones:
                compiled[name] = compile_zone(spec, _records(index, name), health, serial=revision, memo=memo)
            else:
                compiled[name] = kept
    return Snapshot(revision, compiled)


def _records(index: PolicyIndex, zone: str) -> Collection[AnyRecordSet]:
    in_zone = index.records.get(zone)
    return () if in_zone is None else in_zone.values()
