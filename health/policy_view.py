"""The checker's parsed view of the policy: only the kinds that say what to probe, kept incrementally."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from gslb.feed import parse_stored
from gslb.policy import PolicySet
from gslb.store import StoredDoc

log = logging.getLogger(__name__)

# Zones give record sets their tenant; static record sets never name a check, so are not parsed.
PROBE_KINDS = frozenset({"zone", "rrset", "check", "vip", "upstream"})


def wanted(doc: StoredDoc) -> bool:
    """Whether a document can say what to probe (the only kinds this view parses)."""
    return doc.ref.kind in PROBE_KINDS and (doc.ref.kind != "rrset" or "dynamic" in doc.body)


class PolicyView:
    def __init__(self) -> None:
        self.policy = PolicySet()
        self.ignored: dict[str, str] = {}

    def _parse(self, doc: StoredDoc) -> object | None:
        return parse_stored(doc, self.ignored, "the health checker")

    def reload(self, docs: Mapping[str, StoredDoc], revision: int) -> None:
        specs = {}
        for key, doc in docs.items():
            if wanted(doc) and (spec := self._parse(doc)) is not None:
                specs[key] = spec
        self.policy = PolicySet(specs, revision)

    def apply(self, docs: Mapping[str, StoredDoc], changed: Collection[str], revision: int) -> bool:
        """Apply changed keys; True when anything the checker probes may have changed."""
        relevant = [key for key in changed if key.partition(":")[0] in PROBE_KINDS]
        if not relevant:
            return False
        specs = dict(self.policy.docs)
        for key in relevant:
            specs.pop(key, None)
            doc = docs.get(key)
            if doc is not None and wanted(doc) and (spec := self._parse(doc)) is not None:
                specs[key] = spec
        self.policy = PolicySet(specs, revision)
        return True
