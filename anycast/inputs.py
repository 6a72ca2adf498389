"""The part of the store anycast decides from: anycast specs, L4 VIPs and health states.

Fed the follower's mirror and the keys a batch changed, it re-parses only those (no I/O). A document
that does not validate (written by another version, or around the validation) is left out and
reported, never half-used: its values never reach ExaBGP.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gslb.feed import HEALTH_KIND, health_state_is_up
from gslb.policy import PolicyError, parse_document
from gslb.policy.anycast import AnycastSpec
from gslb.policy.l4 import VipSpec


class _Doc(Protocol):
    @property
    def body(self) -> Mapping[str, Any]: ...


@dataclass
class AnycastInputs:
    specs: dict[str, AnycastSpec] = field(default_factory=dict)  # "tenant/name" -> spec
    vips: dict[str, VipSpec] = field(default_factory=dict)
    health: dict[str, bool] = field(default_factory=dict)  # member_health_key -> up
    ignored: dict[str, str] = field(default_factory=dict)  # document key -> why

    def apply(self, docs: Mapping[str, _Doc], changed: Collection[str] | None) -> list[str]:
        """Take the changed keys (None: everything) from `docs`; return the problems newly found."""
        if changed is None:
            self.specs.clear()
            self.vips.clear()
            self.health.clear()
            self.ignored.clear()
        problems = []
        for key in docs.keys() if changed is None else changed:
            kind, _, name = key.partition(":")
            doc = docs.get(key)
            if kind == HEALTH_KIND:
                if doc is None:
                    self.health.pop(name, None)
                else:
                    self.health[name] = health_state_is_up(doc.body)
            elif kind in ("anycast", "vip"):
                target: dict[str, Any] = self.specs if kind == "anycast" else self.vips
                target.pop(name, None)
                self.ignored.pop(key, None)
                if doc is None:
                    continue
                try:
                    target[name] = parse_document(kind, doc.body, doc=key)
                except PolicyError as exc:
                    self.ignored[key] = str(exc)
                    problems.append(f"ignoring stored document {key}: {exc}")
        return problems
