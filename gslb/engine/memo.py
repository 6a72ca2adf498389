"""Per-compile memo tables: values that repeat across record sets are worked out once per run.

Name servers, mail exchangers, CDN targets, member addresses and geo codes recur across thousands
of record sets; a compile run keeps one `CompileMemo` and drops it afterwards, so nothing is cached
between runs (no module-level state) and memory is bounded by the policy being compiled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from geodata.codes import GeoCodeError, parse_geo
from gslb.engine.health_view import member_health_key
from gslb.engine.wire import encode_a, encode_aaaa, encode_name

if TYPE_CHECKING:
    from gslb.engine.snapshot import StaticAnswer

__all__ = ["CompileMemo"]

_GEO_INVALID = (-1, "")


@dataclass(slots=True)
class CompileMemo:
    names: dict[str, bytes] = field(default_factory=dict)
    addresses: dict[tuple[str, str], bytes] = field(default_factory=dict)
    health_keys: dict[tuple[str, str, str], str] = field(default_factory=dict)
    geos: dict[str, tuple[int, str]] = field(default_factory=dict)
    # Identical answers (the same CNAME target, name server address or MX set under many names)
    # become one shared object: answers carry no owner name, so sharing them is invisible.
    answers: dict[tuple[int, int, tuple[bytes, ...]], StaticAnswer] = field(default_factory=dict)
    rr_heads: dict[tuple[int, int], bytes] = field(default_factory=dict)

    def name(self, fqdn: str) -> bytes:
        """`encode_name(fqdn)`."""
        wire = self.names.get(fqdn)
        if wire is None:
            wire = self.names[fqdn] = encode_name(fqdn)
        return wire

    def address(self, rdtype: str, text: str) -> bytes:
        """Packed A or AAAA address from text; ValueError when it is not one."""
        key = (rdtype, text)
        packed = self.addresses.get(key)
        if packed is None:
            packed = self.addresses[key] = encode_a(text) if rdtype == "A" else encode_aaaa(text)
        return packed

    def health_key(self, tenant: str, check: str, target: str) -> str:
        """`member_health_key(tenant, check, target)`."""
        key = (tenant, check, target)
        found = self.health_keys.get(key)
        if found is None:
            found = self.health_keys[key] = member_health_key(tenant, check, target)
        return found

    def geo(self, text: str) -> tuple[int, str]:
        """(level, key) of a geo code: 0 subdivision, 1 country, 2 continent; level -1 if invalid."""
        found = self.geos.get(text)
        if found is None:
            try:
                code = parse_geo(text)
            except GeoCodeError:
                found = _GEO_INVALID
            else:
                level = 0 if code.subdivision is not None else 1 if code.country is not None else 2
                found = (level, code.key)
            self.geos[text] = found
        return found
