"""Work out, from the snapshot, what answers (name, qtype): a `Plan` the responder can memoise.

A plan depends only on the lower-cased question name, its type and the snapshot, never on the
client: for static data it holds the finished sections after the question; for dynamic data it
holds the records before the dynamic answer (a CNAME chain) and the `DynamicAnswer` to select from
per query. The lookup order follows RFC 1034 section 4.3.2 and RFC 4592, as described in
`gslb.engine.snapshot`.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from gslb.dns.message import (
    FLAG_AA,
    FLAG_QR,
    NOERROR,
    NXDOMAIN,
    REFUSED,
    RR_FIXED,
    TYPE_ANY,
    TYPE_CNAME,
    TYPE_DS,
    TYPE_NS,
    QueryInfo,
)
from gslb.engine.dynamic import DynamicAnswer
from gslb.engine.snapshot import Answer, Node, Snapshot, StaticAnswer, ZoneSnapshot

__all__ = ["MAX_CNAME_CHAIN", "Plan", "plan_for"]

MAX_CNAME_CHAIN: Final = 8  # CNAMEs followed inside hosted zones before handing the rest to the resolver
QUESTION_POINTER: Final = b"\xc0\x0c"
_MAX_POINTER: Final = 0x3FFF


class Plan(NamedTuple):
    flags: int  # QR, AA and rcode; RD/CD are copied per query
    body: bytes  # static: answer + authority + additional; dynamic: the answer records before it
    ancount: int
    nscount: int
    arcount: int  # without the OPT record, which depends on the query
    info: QueryInfo  # for metrics; the pool of dynamic answers comes from the selection
    dynamic: DynamicAnswer | None
    owner: bytes  # owner of the dynamic answer's records (0xC00C, or a pointer into the CNAME chain)
    needs_geo: bool  # some rule of `dynamic` looks at the client's location
    negative: bytes  # SOA for the authority section when the dynamic answer selects nothing


def _static_plan(
    zone: str | None,
    qtype: int,
    rcode: int,
    *,
    aa: bool = True,
    answer: bytes = b"",
    ancount: int = 0,
    authority: bytes = b"",
    nscount: int = 0,
    additional: bytes = b"",
    arcount: int = 0,
) -> Plan:
    flags = FLAG_QR | (FLAG_AA if aa else 0) | rcode
    return Plan(
        flags,
        answer + authority + additional,
        ancount,
        nscount,
        arcount,
        QueryInfo(zone, qtype, rcode, None),
        None,
        QUESTION_POINTER,
        False,
        b"",
    )


def _reowned(answer: StaticAnswer, owner: bytes) -> bytes:
    if owner == QUESTION_POINTER:
        return answer.answer_wire
    head = owner + RR_FIXED.pack(answer.rdtype, 1, answer.ttl, 0)[:-2]
    return b"".join([head + len(rdata).to_bytes(2, "big") + rdata for rdata in answer.rdatas])


def _needs_geo(answer: DynamicAnswer) -> bool:
    if answer.simple is not None:
        return False
    return any(rule.geo_reasons or rule.nearest for rule in answer.rules)


def _target_name(wire: bytes) -> str:
    """The CNAME target as a snapshot key; compile encodes names uncompressed and lower-case."""
    parts = []
    pos = 0
    while wire[pos]:
        length = wire[pos]
        parts.append(wire[pos + 1 : pos + 1 + length].decode("latin-1"))
        pos += length + 1
    parts.append("")
    return ".".join(parts) if len(parts) > 1 else "."


def _pick_any(node: Node) -> int | None:
    """RFC 8482 section 4.1: answer ANY with one record set of the name rather than all of them.

    We return one existing record set (A, then AAAA, then the first compiled) instead of the
    synthesised HINFO "RFC8482": it is still a useful answer, and costs nothing extra.
    """
    rrsets = node.rrsets
    for rdtype in (1, 28):
        if rdtype in rrsets:
            return rdtype
    return next(iter(rrsets), None)


def plan_for(snapshot: Snapshot, name: str, qtype: int, answer_start: int) -> Plan:
    """Plan for `name` (absolute, lower-case key) and `qtype`; `answer_start` is the offset of the
    answer section in the response (12 + question length), which CNAME chain pointers depend on."""
    zone = snapshot.find_zone(name)
    if zone is None:
        # Not authoritative and no forwarding yet: REFUSED (RFC 1035 section 4.1.1, "policy").
        return _static_plan(None, qtype, REFUSED, aa=False)
    return _Chain(snapshot, zone, qtype, answer_start).run(name)


class _Chain:
    """Builds the answer for one query, following CNAMEs from zone to hosted zone."""

    def __init__(self, snapshot: Snapshot, zone: ZoneSnapshot, qtype: int, answer_start: int) -> None:
        self.snapshot = snapshot
        self.first_zone = zone.name
        self.zone = zone
        self.qtype = qtype
        self.answer_start = answer_start
        self.records: list[bytes] = []
        self.size = 0
        self.count = 0
        self.owner = QUESTION_POINTER

    def add(self, record: bytes, count: int) -> None:
        self.records.append(record)
        self.size += len(record)
        self.count += count

    def plan(
        self,
        rcode: int,
        *,
        authority: bytes = b"",
        nscount: int = 0,
        additional: bytes = b"",
        arcount: int = 0,
    ) -> Plan:
        return _static_plan(
            self.first_zone,
            self.qtype,
            rcode,
            answer=b"".join(self.records),
            ancount=self.count,
            authority=authority,
            nscount=nscount,
            additional=additional,
            arcount=arcount,
        )

    def negative(self, rcode: int) -> Plan:
        # RFC 2308 section 3: the SOA with TTL min(SOA TTL, minimum) in the authority section.
        return self.plan(rcode, authority=self.zone.negative_soa_wire, nscount=1)

    def run(self, name: str) -> Plan:
        qtype = self.qtype
        seen: set[str] = set()
        for _ in range(MAX_CNAME_CHAIN + 1):
            zone = self.zone
            seen.add(name)
            referral = zone.delegation_for(name) if zone.delegations else None
            if referral is not None and not (qtype == TYPE_DS and referral.owner == name):
                if self.records:
                    return self.plan(NOERROR)  # the resolver follows the chain into the child zone
                # A referral is not authoritative (RFC 1034 section 4.3.2 step 3b): no AA.
                return _static_plan(
                    zone.name,
                    qtype,
                    NOERROR,
                    aa=False,
                    authority=referral.ns_wire,
                    nscount=referral.ns_count,
                    additional=referral.glue_wire,
                    arcount=referral.glue_count,
                )
            node = zone.nodes.get(name)
            if node is None:
                node = zone.wildcard_for(name)  # synthesised under the queried name (RFC 4592)
                if node is None:
                    return self.negative(NXDOMAIN)
            rrsets = node.rrsets
            wanted = _pick_any(node) if qtype == TYPE_ANY else qtype
            answer: Answer | None = rrsets.get(wanted) if wanted is not None else None
            if answer is None and qtype != TYPE_CNAME:
                cname = rrsets.get(TYPE_CNAME)
                if cname is not None:
                    if isinstance(cname, DynamicAnswer):
                        return self.dynamic(cname)  # the target depends on the client: resolver follows
                    target = self.follow(cname)
                    if target is None or target in seen:
                        return self.plan(NOERROR)
                    name = target
                    continue
            if answer is None:
                return self.negative(NOERROR)  # NODATA (RFC 2308 section 2.2), also empty non-terminals
            if isinstance(answer, DynamicAnswer):
                return self.dynamic(answer)
            self.add(_reowned(answer, self.owner), answer.count)
            if wanted == TYPE_NS and name == zone.name and zone.apex_ns.glue_count:
                return self.plan(NOERROR, additional=zone.apex_ns.glue_wire, arcount=zone.apex_ns.glue_count)
            return self.plan(NOERROR)
        return self.plan(NOERROR)  # chain too long: what we have, the resolver goes on from there

    def follow(self, cname: StaticAnswer) -> str | None:
        """Add the CNAME record; the target's key when it is in a hosted zone, else None."""
        record = _reowned(cname, self.owner)
        # The target name sits at the end of the record, uncompressed: later owners point at it.
        target_at = self.answer_start + self.size + len(record) - len(cname.rdatas[0])
        self.add(record, 1)
        target = _target_name(cname.rdatas[0])
        zone = self.snapshot.find_zone(target)
        if zone is None:
            return None
        self.zone = zone
        self.owner = (0xC000 | target_at).to_bytes(2, "big") if target_at <= _MAX_POINTER else cname.rdatas[0]
        return target

    def dynamic(self, answer: DynamicAnswer) -> Plan:
        return Plan(
            FLAG_QR | FLAG_AA,
            b"".join(self.records),
            self.count,
            0,
            0,
            QueryInfo(self.first_zone, self.qtype, NOERROR, None),
            answer,
            self.owner,
            _needs_geo(answer),
            self.zone.negative_soa_wire,
        )
