"""The compiled, immutable answer snapshot the DNS server answers from.

A snapshot is built off the hot path and swapped in by reference; nothing in it is mutated after
compile (the plain dicts inside are never written again), so readers need no locks. Answers are
pre-encoded: a static answer is the bytes of its records owned by the question name (0xC00C), so a
positive reply is header + question + `answer_wire`.

Lookup order the server follows for a name in a zone (RFC 1034 section 4.3.2, RFC 4592):
`delegation_for` first (a name at or below a cut gets a referral), then `nodes` (a node with no
record set of the type is NODATA; empty non-terminals are nodes without record sets), then
`wildcard_for`, else NXDOMAIN with `negative_soa_wire` in the authority section. The exception is
a DS query for a cut itself: DS lives in the parent (RFC 4035 section 3.1.4.1) and is answered from
the node at the cut, not referred.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from gslb.engine.dynamic import DynamicAnswer

__all__ = ["Answer", "Node", "Referral", "Snapshot", "StaticAnswer", "ZoneSnapshot"]


@dataclass(frozen=True, slots=True)
class StaticAnswer:
    rdtype: int
    ttl: int
    answer_wire: bytes  # every record with owner 0xC00C, in the order given
    count: int

    @property
    def rdatas(self) -> tuple[bytes, ...]:
        """The rdata of each record, for re-owning them (CNAME chains, glue, zone transfers).

        Read back from `answer_wire` rather than kept: only slow paths need it, and a node serving
        a million names saves a tuple and a bytes object per name.
        """
        wire = self.answer_wire
        rdatas = []
        pos = 0
        while pos < len(wire):
            # Each record: 2-byte owner pointer, type, class, TTL (8 bytes), rdlength, rdata.
            length = (wire[pos + 10] << 8) | wire[pos + 11]
            rdatas.append(wire[pos + 12 : pos + 12 + length])
            pos += 12 + length
        return tuple(rdatas)


Answer: TypeAlias = StaticAnswer | DynamicAnswer


class Node:
    """The record sets of one owner name, by type code.

    Most names hold one record set: such a node keeps just that answer (a per-name dict costs
    ~160 bytes, the bulk of a node's memory when a zone has a million names); `rrsets` builds the
    mapping on demand for the slow paths, `get` answers without building anything.
    """

    __slots__ = ("_held",)

    def __init__(self, rrsets: Mapping[int, Answer]) -> None:
        answers = tuple(rrsets.values())
        self._held: Answer | tuple[Answer, ...] = answers[0] if len(answers) == 1 else answers

    @property
    def rrsets(self) -> Mapping[int, Answer]:
        held = self._held
        if isinstance(held, tuple):
            return {answer.rdtype: answer for answer in held}
        return {held.rdtype: held}

    def get(self, rdtype: int) -> Answer | None:
        held = self._held
        if isinstance(held, tuple):
            for answer in held:
                if answer.rdtype == rdtype:
                    return answer
            return None
        return held if held.rdtype == rdtype else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and self.rrsets == other.rrsets

    def __hash__(self) -> int:
        return hash(tuple(self.rrsets))

    def __repr__(self) -> str:
        return f"Node({dict(self.rrsets)!r})"


@dataclass(frozen=True, slots=True)
class Referral:
    """NS records of a zone cut (or the apex) with their owner name, and glue for their targets."""

    owner: str
    owner_wire: bytes
    ns_wire: bytes  # NS records owned by `owner`, for the authority section
    ns_count: int
    glue_wire: bytes  # A/AAAA of NS targets inside the zone, for the additional section
    glue_count: int


@dataclass(frozen=True, slots=True)
class ZoneSnapshot:
    name: str  # absolute, lower-case, with the trailing dot
    tenant: str
    default_ttl: int
    serial: int
    soa: StaticAnswer  # the apex SOA (also in the apex node)
    negative_ttl: int  # min(SOA TTL, SOA minimum), RFC 2308 section 5
    negative_soa_wire: bytes  # the SOA owned by the apex with the negative TTL, for NXDOMAIN/NODATA
    apex_ns: Referral  # the apex NS records with glue, for NS answers and authority sections
    # By absolute owner name, including `*.x` owners and empty non-terminals.
    nodes: Mapping[str, Node] = field(repr=False)
    delegations: Mapping[str, Referral] = field(repr=False)  # cuts below the apex, by owner name
    wildcards: frozenset[str] = field(repr=False)  # owners of wildcard nodes ("*.example.com.")
    health_keys: frozenset[str] = field(repr=False)  # health states this zone's dynamic answers depend on
    # names NS records point at (absolute): their addresses are glue, so a change there is not local
    ns_targets: frozenset[str] = field(default=frozenset(), repr=False)

    def delegation_for(self, qname: str) -> Referral | None:
        """The zone cut at or above `qname` (a name in this zone), closest to the apex; None if none."""
        delegations = self.delegations
        if not delegations:
            return None
        found = None
        apex = self.name
        name = qname
        while len(name) > len(apex):
            referral = delegations.get(name)
            if referral is not None:
                found = referral
            name = name[name.find(".") + 1 :] if "." in name else apex
        return found

    def wildcard_for(self, qname: str) -> Node | None:
        """The wildcard node that synthesises `qname` (not itself a node), per RFC 4592 section 3.3.1.

        The source of synthesis is `*.` + the closest encloser: the nearest existing ancestor,
        where empty non-terminals exist too, so `*.example.` does not cover `x.sub.example.` when
        `y.sub.example.` exists.
        """
        if not self.wildcards:
            return None
        nodes = self.nodes
        apex = self.name
        name = qname
        while len(name) > len(apex):
            name = name[name.find(".") + 1 :] if "." in name else apex
            if name in nodes:
                break
        return nodes.get("*." + name)


@dataclass(frozen=True, slots=True)
class Snapshot:
    revision: int
    zones: Mapping[str, ZoneSnapshot] = field(repr=False)
    compiled_at: float | None = None  # set by the caller; compile itself reads no clock

    def find_zone(self, qname: str) -> ZoneSnapshot | None:
        """The most specific zone containing `qname` (absolute, lower-case), by walking up its labels."""
        zones = self.zones
        name = qname
        while True:
            zone = zones.get(name)
            if zone is not None:
                return zone
            if name == ".":
                return None
            dot = name.find(".")
            if dot < 0:
                return None
            name = name[dot + 1 :] or "."

    def zones_depending_on(self, health_keys: Collection[str]) -> frozenset[str]:
        """Zones whose answers change when any of these health states changes: what to recompile."""
        changed = frozenset(health_keys)
        return frozenset(
            name for name, zone in self.zones.items() if not zone.health_keys.isdisjoint(changed)
        )
