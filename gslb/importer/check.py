"""Validate an import against the current state before planning writes, with file:line messages.

The store validates again when the CLI commits; this pass exists so problems arrive located in
the file the user is editing, and only the problems the import causes or contains: an unrelated
tenant's existing mistake must not block this import.
"""

from __future__ import annotations

from gslb.importer.errors import PolicyImportError
from gslb.importer.plan import Plan
from gslb.importer.result import ImportedPolicy
from gslb.policy import PolicySet, Problem, validate


def validate_import(imported: ImportedPolicy, current: PolicySet, *, merge: bool = False) -> Plan:
    """The plan for `imported`, or PolicyImportError listing every problem of the resulting state.

    A problem is reported when it concerns a document of the file, or when it is new (not a
    problem of `current` already). Raises ScopeError when the import reaches outside its scope.
    """
    plan = imported.plan(current, merge=merge)
    desired = plan.apply(current)
    zones = _affected_zones(imported, plan, current, desired)
    before = {str(problem) for problem in validate(current, zones=zones)}
    located: list[tuple[tuple[int, int], str]] = []
    for problem in validate(desired, zones=zones):
        position = imported.position(problem)
        if position is None and str(problem) in before:
            continue
        order = (position.line, position.column or 0) if position is not None else (1 << 30, 0)
        located.append((order, imported.locate(problem)))
    messages = [message for _, message in sorted(located, key=lambda item: item[0])]
    messages += _ownership_problems(imported, desired)
    if messages:
        raise PolicyImportError(messages)
    return plan


def _affected_zones(imported: ImportedPolicy, plan: Plan, current: PolicySet, desired: PolicySet) -> set[str]:
    """Zones whose record-level checks the import can change: its own, those it edits, and those of
    tenants whose health checks it edits (dynamic records refer to them)."""
    zones = set(imported.scope.zones)
    tenants = set(imported.scope.tenants)
    for change in plan.changes():
        spec = change.new if change.new is not None else change.old
        kind = change.kind
        if kind == "zone":
            zones.add(spec.name)
        elif kind == "rrset":
            zones.add(spec.zone)
        elif kind in ("check", "tenant"):
            tenants.add(spec.tenant if kind == "check" else spec.name)
    for state in (current, desired):
        zones.update(name for name, zone in state.zones().items() if zone.tenant in tenants)
    return zones


def _ownership_problems(imported: ImportedPolicy, desired: PolicySet) -> list[str]:
    if imported.tenant is None:
        return []
    messages = []
    for zone in sorted(imported.scope.zones):
        spec = desired.zones().get(zone)
        if spec is not None and spec.tenant != imported.tenant:
            problem = Problem(f"zone {zone} belongs to tenant {spec.tenant!r}, not {imported.tenant!r}")
            messages.append(f"{imported.filename}: {problem}")
    return messages
