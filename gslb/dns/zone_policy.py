"""The slice of the policy zone transfers and NOTIFY read: a zone's spec and its record sets.

A node's snapshot feed keeps its policy in a `PolicyIndex` updated in place (`IndexZonePolicy`);
tests and benchmarks hold an immutable `PolicySet` (`PolicySetZonePolicy`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from gslb.engine.index import PolicyIndex
from gslb.policy.policyset import PolicySet
from gslb.policy.tenancy import ZoneSpec

__all__ = ["IndexZonePolicy", "PolicySetZonePolicy", "ZonePolicy"]


class ZonePolicy(Protocol):
    def zone(self, name: str) -> ZoneSpec | None: ...

    def records(self, name: str) -> Mapping[str, Any]:
        """The zone's record sets by store key ("rrset:example.com./www/A")."""
        ...


class IndexZonePolicy:
    """Reads the index the callable returns at each call: a full reload replaces the feed's index."""

    def __init__(self, index: Callable[[], PolicyIndex]) -> None:
        self._index = index

    def zone(self, name: str) -> ZoneSpec | None:
        return self._index().zones.get(name)

    def records(self, name: str) -> Mapping[str, Any]:
        return self._index().records.get(name, {})


class PolicySetZonePolicy:
    def __init__(self, policy: PolicySet) -> None:
        self._policy = policy

    def zone(self, name: str) -> ZoneSpec | None:
        return self._policy.zones().get(name)

    def records(self, name: str) -> Mapping[str, Any]:
        prefix = f"rrset:{name}/"
        return {key: spec for key, spec in self._policy.docs.items() if key.startswith(prefix)}
