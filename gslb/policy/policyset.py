"""PolicySet: every parsed document of the store at one revision, indexed for validation and compile.

Immutable: `with_changes` returns a new set, so a node can validate a proposed change against the
current state without touching what the DNS hot path is serving.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gslb.policy.documents import KINDS, doc_key, kind_of
from gslb.policy.records import AnyRecordSet
from gslb.policy.tenancy import ZoneSpec


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Documents by store key ("zone:example.com.", "rrset:example.com./www/A", "check:acme/web")."""

    docs: Mapping[str, Any] = field(default_factory=dict)
    revision: int = 0
    # Lazily built views by kind; the set is immutable, so they never go stale.
    _by_kind: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_specs(cls, specs: Iterable[Any], *, revision: int = 0) -> PolicySet:
        return cls({doc_key(spec): spec for spec in specs}, revision)

    def with_changes(
        self, puts: Iterable[Any] = (), deletes: Iterable[str] = (), *, revision: int | None = None
    ) -> PolicySet:
        docs = dict(self.docs)
        for key in deletes:
            docs.pop(key, None)
        for spec in puts:
            docs[doc_key(spec)] = spec
        return PolicySet(docs, self.revision if revision is None else revision)

    def of_kind(self, kind: str) -> Mapping[str, Any]:
        """Documents of one kind keyed by their name (the part after "kind:"); read-only."""
        assert kind in KINDS, kind
        if not self._by_kind:
            views: dict[str, dict[str, Any]] = {name: {} for name in KINDS}
            for key, spec in self.docs.items():
                kind_name, _, name = key.partition(":")
                if kind_name in views:
                    views[kind_name][name] = spec
            self._by_kind.update(views)
        return MappingProxyType(self._by_kind[kind])

    def tenant_of(self, spec: Any) -> str | None:
        """Owning tenant of a document (record sets belong to their zone's tenant)."""
        kind = kind_of(spec)
        if kind == "tenant":
            return spec.name
        if kind == "rrset":
            zone = self.docs.get(f"zone:{spec.zone}")
            return zone.tenant if zone is not None else None
        return spec.tenant

    def zone_records(self) -> Mapping[str, list[AnyRecordSet]]:
        """Record sets grouped by zone name."""
        grouped: dict[str, list[AnyRecordSet]] = defaultdict(list)
        for key, spec in self.docs.items():
            if key.startswith("rrset:"):
                grouped[spec.zone].append(spec)
        return MappingProxyType(grouped)

    def zones(self) -> Mapping[str, ZoneSpec]:
        return self.of_kind("zone")
