"""Compile one zone: its record sets and the health view into a `ZoneSnapshot`.

The zone is assumed valid (gslb.policy.validate), but compile never raises on content: a record
set that cannot be answered is left out, because one bad record must not take a whole node's
answers down with it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from gslb.engine.dynamic import compile_dynamic
from gslb.engine.health_view import HealthView
from gslb.engine.memo import CompileMemo
from gslb.engine.rdata import encode_soa_value, record_rdatas
from gslb.engine.snapshot import Answer, Node, Referral, StaticAnswer, ZoneSnapshot
from gslb.engine.wire import CLASS_IN, QUESTION_POINTER, RDTYPE, rdtype_code, rr_with_owner
from gslb.policy.records import APEX, DYNAMIC_TYPES, AnyRecordSet, SoaValue
from gslb.policy.tenancy import ZoneSpec

__all__ = ["compile_zone", "static_answer"]

SERIAL_MODULUS = 2**32
_A = RDTYPE["A"]
_AAAA = RDTYPE["AAAA"]
_NS = RDTYPE["NS"]
_SOA = RDTYPE["SOA"]
_RR_FIXED = struct.Struct("!HHI")
# Empty non-terminals share one node: it holds nothing to tell them apart (and cannot be changed).
_EMPTY_NODE = Node(MappingProxyType({}))


def static_answer(
    rdtype: int, ttl: int, rdatas: tuple[bytes, ...], memo: CompileMemo | None = None
) -> StaticAnswer:
    """Pre-encoded answer: every rdata as an RR owned by the question name.

    With a `memo`, equal answers compiled in one run are one shared object.
    """
    if memo is None:
        return _build_static(QUESTION_POINTER + _RR_FIXED.pack(rdtype, CLASS_IN, ttl), rdtype, ttl, rdatas)
    key = (rdtype, ttl, rdatas)
    answer = memo.answers.get(key)
    if answer is None:
        head = memo.rr_heads.get(key[:2])
        if head is None:
            head = memo.rr_heads[key[:2]] = QUESTION_POINTER + _RR_FIXED.pack(rdtype, CLASS_IN, ttl)
        answer = memo.answers[key] = _build_static(head, rdtype, ttl, rdatas)
    return answer


def _build_static(head: bytes, rdtype: int, ttl: int, rdatas: tuple[bytes, ...]) -> StaticAnswer:
    if len(rdatas) == 1:  # most record sets have one value; skip the list and the join
        rdata = rdatas[0]
        return StaticAnswer(rdtype, ttl, head + len(rdata).to_bytes(2, "big") + rdata, 1)
    wire = b"".join([head + len(rdata).to_bytes(2, "big") + rdata for rdata in rdatas])
    return StaticAnswer(rdtype, ttl, wire, len(rdatas))


def _soa(
    zone: ZoneSpec, record: Any, apex_ns: tuple[str, ...], serial: int, memo: CompileMemo
) -> tuple[StaticAnswer, int, int]:
    """The apex SOA answer, its serial and its `minimum`; synthesised when the zone declares none."""
    if record is not None:
        value: SoaValue = record.values[0]
        ttl = record.ttl if record.ttl is not None else zone.ttl
    else:
        # model_construct: the values are known good, and validating them again costs time per zone.
        value = SoaValue.model_construct(
            mname=apex_ns[0] if apex_ns else zone.name,
            rname=f"hostmaster.{zone.name}",
            **{
                field: info.default
                for field, info in SoaValue.model_fields.items()
                if field not in ("mname", "rname")
            },
        )
        ttl = zone.ttl
    effective_serial = value.serial if value.serial is not None else serial
    rdata = encode_soa_value(value, effective_serial, memo)
    return static_answer(_SOA, ttl, (rdata,)), effective_serial, value.minimum


def _referral(
    owner: str,
    ns: StaticAnswer,
    targets: Iterable[str],
    apex: str,
    rrsets: Mapping[str, dict[int, Answer]],
    memo: CompileMemo,
) -> Referral:
    owner_wire = memo.name(owner)
    ns_wire = b"".join(rr_with_owner(owner_wire, _NS, ns.ttl, rdata) for rdata in ns.rdatas)
    glue: list[bytes] = []
    for target in targets:
        if not (target == apex or target.endswith("." + apex)):
            continue  # out-of-zone targets are resolved by the resolver, not glued
        at_target = rrsets.get(target, {})
        for code in (_A, _AAAA):
            answer = at_target.get(code)
            if isinstance(answer, StaticAnswer):
                target_wire = memo.name(target)
                glue.extend(rr_with_owner(target_wire, code, answer.ttl, rdata) for rdata in answer.rdatas)
    return Referral(owner, owner_wire, ns_wire, ns.count, b"".join(glue), len(glue))


def compile_zone(
    zone: ZoneSpec,
    records: Iterable[AnyRecordSet],
    health: HealthView,
    *,
    serial: int,
    memo: CompileMemo | None = None,
) -> ZoneSnapshot:
    """Compile `zone` from its record sets; `serial` is used where the SOA gives none (mod 2**32)."""
    memo = CompileMemo() if memo is None else memo
    serial %= SERIAL_MODULUS
    apex = zone.name
    default_ttl = zone.ttl
    tenant = zone.tenant
    rrsets: dict[str, dict[int, Answer]] = {}
    ns_targets: dict[str, tuple[str, ...]] = {}
    health_keys: set[str] = set()
    soa_record = None
    for record in records:
        rdtype: str = record.type  # type: ignore[attr-defined]
        name = record.name
        owner = apex if name == APEX else f"{name}.{apex}"
        ttl = default_ttl if record.ttl is None else record.ttl
        if rdtype == "SOA":
            if name == APEX:
                soa_record = record
            continue
        # Only some classes have the field; getattr on the others raises inside pydantic (slow).
        dynamic = record.dynamic if rdtype in DYNAMIC_TYPES else None  # type: ignore[attr-defined]
        answer: Answer | None
        if dynamic is not None:
            answer = compile_dynamic(
                rdtype,
                dynamic,
                values=record.values,  # type: ignore[attr-defined]
                ttl=ttl,
                tenant=tenant,
                health=health,
                memo=memo,
            )
            if answer is not None:
                health_keys |= answer.health_keys
        else:
            rdatas = record_rdatas(record, memo)
            answer = static_answer(rdtype_code(rdtype), ttl, rdatas, memo) if rdatas else None
        if answer is None:
            continue
        at_owner = rrsets.get(owner)
        if at_owner is None:
            at_owner = rrsets[owner] = {}
        at_owner[answer.rdtype] = answer
        if rdtype == "NS":
            ns_targets[owner] = record.values  # type: ignore[attr-defined]

    soa, zone_serial, minimum = _soa(zone, soa_record, ns_targets.get(apex, ()), serial, memo)
    rrsets.setdefault(apex, {})[_SOA] = soa
    negative_ttl = min(soa.ttl, minimum)
    apex_wire = memo.name(apex)

    referrals = {}
    apex_ns = Referral(apex, apex_wire, b"", 0, b"", 0)
    for owner, targets in ns_targets.items():
        ns = rrsets[owner][_NS]
        assert isinstance(ns, StaticAnswer)  # NS record sets are never dynamic
        referral = _referral(owner, ns, targets, apex, rrsets, memo)
        if owner == apex:
            apex_ns = referral
        else:
            referrals[owner] = referral

    nodes: dict[str, Node] = {owner: Node(answers) for owner, answers in rrsets.items()}
    wildcards = frozenset(owner for owner in nodes if owner.startswith("*."))
    _add_empty_non_terminals(nodes, apex)
    return ZoneSnapshot(
        name=apex,
        tenant=tenant,
        default_ttl=default_ttl,
        serial=zone_serial,
        soa=soa,
        negative_ttl=negative_ttl,
        negative_soa_wire=rr_with_owner(apex_wire, _SOA, negative_ttl, soa.rdatas[0]),
        apex_ns=apex_ns,
        nodes=nodes,
        delegations=referrals,
        wildcards=wildcards,
        health_keys=frozenset(health_keys),
    )


def _add_empty_non_terminals(nodes: dict[str, Node], apex: str) -> None:
    # A name with nothing of its own but names below it exists (NODATA, not NXDOMAIN), and it stops
    # wildcards above it from matching below it (RFC 4592 section 2.2.2).
    suffix_len = len(apex)
    for owner in list(nodes):
        name = owner
        while len(name) > suffix_len:
            name = name[name.find(".") + 1 :]
            if name in nodes:
                break
            nodes[name] = _EMPTY_NODE
