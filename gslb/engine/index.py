"""PolicyIndex: the parsed policy a node compiles from, indexed by zone and updated in place.

`PolicySet` is immutable and indexes lazily: right for validating a proposed write, but a node that
rebuilt one per change would pay for every document on every write (a third of a second with a
million record sets, past the 100 ms a change may take to reach the answers). A node's snapshot
feed owns one `PolicyIndex` instead: `put` and `delete` cost what changed and say which zones
to recompile, and `compile_index` / `recompile_index` build snapshots from it.

Not thread-safe and not shared: one owner mutates it between compiles.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, NamedTuple, cast

from gslb.engine.health_view import HealthView
from gslb.engine.memo import CompileMemo
from gslb.engine.snapshot import Snapshot, ZoneSnapshot
from gslb.engine.zone import compile_zone, patch_zone
from gslb.policy.bulk import gc_paused
from gslb.policy.policyset import PolicySet
from gslb.policy.records import SUPPORTED_TYPES, AnyRecordSet, record_set_class
from gslb.policy.tenancy import ZoneSpec

__all__ = ["PolicyIndex", "StaticRecord", "compile_index", "recompile_index"]

_PLAIN_FIELDS = frozenset({"zone", "name", "ttl", "type", "values", "dynamic"})
# A change of more names than this recompiles the zone whole: patching costs per name (every type
# looked up), compiling per record set, and past this many the difference no longer matters.
PATCH_MAX_NAMES = 1000


class StaticRecord(NamedTuple):
    """A validated record set without dynamic policy, kept in the fields compile reads.

    A pydantic model costs ~350 bytes of object and attribute dict per record set; this costs
    ~100. With a million static names that is a quarter of a node's memory. `spec()` gives the
    model back for the rare caller that needs one.
    """

    zone: str
    name: str
    ttl: int | None
    type: str
    values: tuple[Any, ...]
    dynamic: None = None

    def spec(self) -> AnyRecordSet:
        cls: Any = record_set_class(self.type)  # the concrete class has `values`; the base does not
        spec = cls.model_construct(
            zone=self.zone, name=self.name, ttl=self.ttl, type=self.type, values=self.values
        )
        return cast(AnyRecordSet, spec)


def _compact(spec: Any) -> Any:
    if getattr(spec, "dynamic", None) is None and _PLAIN_FIELDS.issuperset(type(spec).model_fields):
        return StaticRecord(spec.zone, spec.name, spec.ttl, spec.type, spec.values)
    return spec


class PolicyIndex:
    def __init__(self) -> None:
        self.specs: dict[str, Any] = {}  # every document but record sets, by store key ("zone:x.")
        self.zones: dict[str, ZoneSpec] = {}  # by zone name
        # zone name -> store key ("rrset:example.com./www/A") -> record set (StaticRecord or model)
        self.records: dict[str, dict[str, Any]] = {}
        self.record_sets = 0
        # What changed since `take_changes`, for `recompile_index` to patch rather than rebuild:
        # zone -> record names changed, or None when the zone changed beyond single names (its
        # settings, an SOA or NS record set). Off while a whole policy loads (it would only grow).
        self.tracking = False
        self._changes: dict[str, set[str] | None] = {}

    def put(self, key: str, spec: Any) -> set[str]:
        """Add or replace a document; the zones whose answers it can change."""
        touched = self.delete(key)
        kind = key.partition(":")[0]
        if kind == "rrset":
            self.records.setdefault(spec.zone, {})[key] = _compact(spec)
            self.record_sets += 1
            touched.add(spec.zone)
            if self.tracking:
                self._note(spec.zone, spec.name, spec.type)
            return touched
        self.specs[key] = spec
        if kind == "zone":
            self.zones[spec.name] = spec
            touched.add(spec.name)
            if self.tracking:
                self._changes[spec.name] = None
        return touched

    def delete(self, key: str) -> set[str]:
        """Remove a document if present; the zones whose answers that can change."""
        kind, _, name = key.partition(":")
        if kind == "rrset":
            zone, _, rest = name.partition("/")  # record set names are "zone/name/TYPE"
            in_zone = self.records.get(zone)
            if in_zone is None or in_zone.pop(key, None) is None:
                return set()
            if not in_zone:
                del self.records[zone]
            self.record_sets -= 1
            if self.tracking:
                record_name, _, rdtype = rest.rpartition("/")
                self._note(zone, record_name, rdtype)
            return {zone}
        old = self.specs.pop(key, None)
        if old is None:
            return set()
        if kind == "zone":
            self.zones.pop(old.name, None)
            if self.tracking:
                self._changes[old.name] = None
            return {old.name}
        return set()

    def _note(self, zone: str, name: str, rdtype: str) -> None:
        changes = self._changes
        if rdtype in ("SOA", "NS"):  # the apex, cuts and glue: beyond one node
            changes[zone] = None
        elif zone not in changes:
            changes[zone] = {name}
        else:
            names = changes[zone]
            if names is not None:
                names.add(name)

    def take_changes(self) -> dict[str, set[str] | None]:
        """The changes noted since the last call (see `tracking`), and forget them."""
        changes, self._changes = self._changes, {}
        return changes

    def records_at(self, zone: str, name: str) -> list[Any]:
        """The record sets at one name of a zone (every type)."""
        in_zone = self.records.get(zone)
        if not in_zone:
            return []
        prefix = f"rrset:{zone}/{name}/"
        return [record for rdtype in SUPPORTED_TYPES if (record := in_zone.get(prefix + rdtype)) is not None]

    def zones_of_tenants(self, tenants: Collection[str]) -> set[str]:
        return {name for name, zone in self.zones.items() if zone.tenant in tenants}

    def policy_set(self, revision: int) -> PolicySet:
        """An immutable copy for validation or explanation: O(all documents), not for every change."""
        docs = dict(self.specs)
        for in_zone in self.records.values():
            for key, record in in_zone.items():
                docs[key] = record.spec() if isinstance(record, StaticRecord) else record
        return PolicySet(docs, revision)


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
    previous: Snapshot,
    index: PolicyIndex,
    health: HealthView,
    *,
    zones: Collection[str],
    revision: int,
    keep_serial: Collection[str] = (),
    names: Mapping[str, Collection[str]] | None = None,
) -> Snapshot:
    """`previous` with the named zones rebuilt, zones gone from `index` dropped, new ones built, and
    every other zone shared by reference (so it keeps its SOA serial: secondaries transfer only
    zones that really changed). Zones in `keep_serial` (rebuilt only because health changed) keep
    their serial too: health changes the answers, not what a zone transfer carries
    (`gslb.engine.transfer`), and a new serial per flap would have every secondary transfer again.

    Zones in `names` (zone -> the record names that changed, nothing else about them: not their
    health, settings, SOA or NS) are patched, one node per name (`patch_zone`), when the change
    stays within those nodes; else compiled whole."""
    with gc_paused():
        memo = CompileMemo()
        compiled: dict[str, ZoneSnapshot] = {}
        for name, spec in index.zones.items():
            kept = previous.zones.get(name)
            if kept is None or name in zones:
                serial = kept.serial if kept is not None and name in keep_serial else revision
                patched = None
                changed = names.get(name) if names is not None and kept is not None else None
                if (
                    kept is not None
                    and changed is not None
                    and name not in keep_serial
                    and len(changed) <= PATCH_MAX_NAMES
                ):
                    patched = patch_zone(
                        kept,
                        spec,
                        changed,
                        lambda record_name, zone=name: index.records_at(zone, record_name),  # type: ignore[misc]
                        health,
                        serial=serial,
                        memo=memo,
                    )
                compiled[name] = patched or compile_zone(
                    spec, _records(index, name), health, serial=serial, memo=memo
                )
            else:
                compiled[name] = kept
    return Snapshot(revision, compiled)


def _records(index: PolicyIndex, zone: str) -> Collection[AnyRecordSet]:
    in_zone = index.records.get(zone)
    # StaticRecord has every field compile reads from a record set (see its docstring).
    return () if in_zone is None else cast(Collection[AnyRecordSet], in_zone.values())
