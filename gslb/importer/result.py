"""What every loader returns: the parsed documents, what they are authoritative for, and where
each came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gslb.importer.locator import Locator, Position
from gslb.importer.plan import Plan, plan_changes
from gslb.importer.scope import ImportScope
from gslb.policy import PolicySet, Problem, doc_key


@dataclass(frozen=True, slots=True)
class ImportedPolicy:
    filename: str
    specs: tuple[Any, ...]
    scope: ImportScope
    locator: Locator
    warnings: tuple[str, ...] = ()
    # Zone-file imports: the tenant that must own the zone (None: not checked).
    tenant: str | None = None
    keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(doc_key(spec) for spec in self.specs))

    def by_key(self) -> dict[str, Any]:
        return dict(zip(self.keys, self.specs, strict=True))

    def position(self, problem: Problem) -> Position | None:
        return self.locator.position(problem)

    def locate(self, problem: Problem) -> str:
        """ "file.yaml:12:9: rrset:example.com./www/A/dynamic/rules/0/pool: pool 'x' is not defined..."."""
        return self.locator.locate(problem)

    def plan(self, current: PolicySet, *, merge: bool = False) -> Plan:
        return plan_changes(current, self.specs, self.scope, merge=merge)
