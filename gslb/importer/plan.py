"""Plans: what importing a set of documents would create, update and delete, reviewed before applying.

Like octoDNS, an import is first a plan a human can read; applying it is the CLI's job (it turns
`ops()` into store writes). A plan never reaches outside its scope (see `scope.py`), and
`require_force` holds back plans that would rewrite a large share of a zone, the typical result of
importing the wrong file or a truncated one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from gslb.importer.diff import field_changes, show
from gslb.importer.errors import ScopeError
from gslb.importer.scope import ImportScope
from gslb.policy import PolicySet, doc_key

DEFAULT_FORCE_THRESHOLD = 0.30
# Parents before children when writing, so a reader of the change feed sees tenants before their
# zones and zones before their records (the store commits atomically; this is for humans and logs).
KIND_ORDER = ("tenant", "zone", "check", "rrset", "vip", "upstream", "route", "anycast")

Action = Literal["create", "update", "delete"]
_SYMBOL = {"create": "+", "update": "~", "delete": "-"}


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    old: Any  # None for a create
    new: Any  # None for a delete

    @property
    def action(self) -> Action:
        if self.old is None:
            return "create"
        return "delete" if self.new is None else "update"

    @property
    def kind(self) -> str:
        return self.key.partition(":")[0]

    def sort_key(self) -> tuple[int, str]:
        kind = self.kind
        return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), self.key)

    def render(self) -> list[str]:
        head = f"{_SYMBOL[self.action]} {self.key}"
        if self.action == "create":
            return [f"{head} {show(self.new.to_body())}"]
        if self.action == "delete":
            return [head]
        lines = [head]
        for where, before, after in field_changes(self.old.to_body(), self.new.to_body()):
            lines.append(f"    {where}: {show(before)} -> {show(after)}")
        return lines


Op = tuple[str, Any | None, int | None]


@dataclass(frozen=True, slots=True)
class Plan:
    creates: tuple[Change, ...] = ()
    updates: tuple[Change, ...] = ()
    deletes: tuple[Change, ...] = ()
    # Record sets per zone before the change: the denominator of the --force guard.
    zone_sizes: Mapping[str, int] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.creates or self.updates or self.deletes)

    def changes(self) -> list[Change]:
        """Every change, parents first, then by key: the same plan always reads the same."""
        return sorted((*self.creates, *self.updates, *self.deletes), key=Change.sort_key)

    def render(self) -> str:
        if self.is_empty:
            return "No changes."
        lines = [line for change in self.changes() for line in change.render()]
        lines.append(
            f"{len(self.creates)} to create, {len(self.updates)} to update, {len(self.deletes)} to delete"
        )
        return "\n".join(lines)

    def ops(self, revisions: Mapping[str, int] | None = None) -> list[Op]:
        """(key, spec or None to delete, expected revision) in write order.

        `expected` is 0 for creates (the document must not exist yet) and, for updates and deletes,
        the revision in `revisions` (the store revision each document was read at), or None when
        unknown: then the store writes regardless of concurrent edits.
        """
        known = revisions or {}
        puts: list[Op] = [
            (change.key, change.new, 0 if change.action == "create" else known.get(change.key))
            for change in self.changes()
            if change.action != "delete"
        ]
        deletes: list[Op] = [
            (change.key, None, known.get(change.key))
            for change in reversed(self.changes())
            if change.action == "delete"
        ]
        return puts + deletes

    def apply(self, current: PolicySet) -> PolicySet:
        """The state after this plan (for validating it before writing)."""
        return current.with_changes(
            [change.new for change in (*self.creates, *self.updates)],
            [change.key for change in self.deletes],
        )

    def risky_zones(self, threshold: float = DEFAULT_FORCE_THRESHOLD) -> dict[str, tuple[int, int]]:
        """Zones where deleted plus updated record sets exceed `threshold` of the zone's current ones.

        Values are (changed, total). Deleting a zone counts as changing all of it; zones the plan
        creates never count (there is nothing to lose).
        """
        limit = Fraction(str(threshold))
        changed: Counter[str] = Counter(
            change.old.zone for change in (*self.updates, *self.deletes) if change.kind == "rrset"
        )
        deleted = {change.old.name for change in self.deletes if change.kind == "zone"}
        risky: dict[str, tuple[int, int]] = {}
        for zone in sorted(set(changed) | deleted):
            total = self.zone_sizes.get(zone, 0)
            if zone in deleted:
                if limit < 1:
                    risky[zone] = (total, total)
            elif total and Fraction(changed[zone], total) > limit:
                risky[zone] = (changed[zone], total)
        return risky


def require_force(plan: Plan, threshold: float = DEFAULT_FORCE_THRESHOLD) -> list[str]:
    """One message per zone the plan would rewrite beyond `threshold`; empty when it may go ahead."""
    deleted = {change.old.name for change in plan.deletes if change.kind == "zone"}
    messages = []
    for zone, (changed, total) in plan.risky_zones(threshold).items():
        if zone in deleted:
            messages.append(
                f"zone {zone} would be deleted with all {total} of its record sets; "
                "re-run with --force if that is intended"
            )
        else:
            messages.append(
                f"zone {zone}: {changed} of {total} record sets ({changed / total:.0%}) would be deleted "
                f"or changed, more than the {threshold:.0%} allowed without --force; check that this is "
                "the right file, then re-run with --force"
            )
    return messages


def plan_changes(
    current: PolicySet, desired_specs: Iterable[Any], scope: ImportScope, *, merge: bool = False
) -> Plan:
    """Compare `desired_specs` with `current` within `scope`; `merge` never deletes.

    Raises ScopeError when a desired document lies outside the scope, or would take over a document
    another tenant owns (a zone file cannot move a zone, a tenant file cannot edit another tenant).
    """
    desired: dict[str, Any] = {}
    for spec in desired_specs:
        key = doc_key(spec)
        if key in desired:
            raise ValueError(f"{key} is given twice")
        desired[key] = spec
    zones_now = {name: zone.tenant for name, zone in current.zones().items()}
    zones_after = {
        **zones_now,
        **{key[5:]: spec.tenant for key, spec in desired.items() if key.startswith("zone:")},
    }

    creates: list[Change] = []
    updates: list[Change] = []
    outside: list[str] = []
    for key, spec in desired.items():
        old = current.docs.get(key)
        if key in scope.ensure:
            if old is None:
                creates.append(Change(key, None, spec))
            continue
        if not scope.covers(spec, zones_after.get):
            outside.append(f"{key} is outside this import's scope ({scope.describe()})")
        elif old is not None and not scope.covers(old, zones_now.get):
            owner = current.tenant_of(old)
            outside.append(f"{key} belongs to tenant {owner!r}, which this import does not cover")
        elif old is None:
            creates.append(Change(key, None, spec))
        elif old != spec:
            updates.append(Change(key, old, spec))
    if outside:
        raise ScopeError(outside)

    deletes: list[Change] = []
    if not merge:
        deletes = [
            Change(key, old, None)
            for key, old in current.docs.items()
            if key not in desired and scope.covers(old, zones_now.get)
        ]
    sizes = Counter(spec.zone for key, spec in current.docs.items() if key.startswith("rrset:"))
    return Plan(
        creates=tuple(sorted(creates, key=Change.sort_key)),
        updates=tuple(sorted(updates, key=Change.sort_key)),
        deletes=tuple(sorted(deletes, key=Change.sort_key)),
        zone_sizes=dict(sizes),
    )
