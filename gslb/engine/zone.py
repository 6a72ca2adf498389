"""Compile one zone: its record sets and the health view into a `ZoneSnapshot`.

The zone is assumed valid (gslb.policy.validate), but compile never raises on content: a record
set that cannot be answered is left out, because one bad record must not take a whole node's
answers down with it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from gslb.engine.dynamic import DynamicAnswer, compile_dynamic
from gslb.engine.health_view import HealthView
from gslb.engine.memo import CompileMemo
from gslb.engine.rdata import encode_soa_value, record_rdatas
from gslb.engine.snapshot import Answer, Node, Referral, StaticAnswer, ZoneSnapshot
from gslb.engine.wire import CLASS_IN, QUESTION_POINTER, RDTYPE, rdtype_code, rr_with_owner
from gslb.policy.records import APEX, DYNAMIC_TYPES, AnyRecordSet, SoaValue
from gslb.policy.tenancy import ZoneSpec

__all__ = ["compile_zone", "patch_zone", "static_answer"]

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


def _compile_record(
    record: Any, apex: str, default_ttl: int, tenant: str, health: HealthView, memo: CompileMemo
) -> tuple[str, Answer | None]:
    """One record set (not an SOA): its owner name and answer (None: nothing it can answer)."""
    rdtype: str = record.type
    name = record.name
    owner = apex if name == APEX else f"{name}.{apex}"
    ttl = default_ttl if record.ttl is None else record.ttl
    # Only some classes have the field; getattr on the others raises inside pydantic (slow).
    dynamic = record.dynamic if rdtype in DYNAMIC_TYPES else None
    if dynamic is not None:
        return owner, compile_dynamic(
            rdtype, dynamic, values=record.values, ttl=ttl, tenant=tenant, health=health, memo=memo
        )
    rdatas = record_rdatas(record, memo)
    return owner, (static_answer(rdtype_code(rdtype), ttl, rdatas, memo) if rdatas else None)


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
        if rdtype == "SOA":
            if record.name == APEX:
                soa_record = record
            continue
        owner, answer = _compile_record(record, apex, default_ttl, tenant, health, memo)
        if answer is None:
            continue
        if isinstance(answer, DynamicAnswer):
            health_keys |= answer.health_keys
        at_owner = rrsets.get(owner)
        if at_owner is None:
            at_owner = rrsets[owner] = {}
        at_owner[answer.rdtype] = answer
        if rdtype == "NS":
            ns_targets[owner] = record.values  # type: ignore[attr-defined]

    soa, zone_serial, minimum = _soa(zone, soa_record, ns_targets.get(apex, ()), serial, memo)
    rrsets.setdefault(apex, {})[_SOA] = soa
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
    return _zone_snapshot(
        zone,
        soa,
        zone_serial,
        minimum,
        memo,
        apex_ns=apex_ns,
        nodes=nodes,
        delegations=referrals,
        wildcards=wildcards,
        health_keys=frozenset(health_keys),
        ns_targets=frozenset(target for targets in ns_targets.values() for target in targets),
    )


def patch_zone(
    previous: ZoneSnapshot,
    zone: ZoneSpec,
    names: Collection[str],
    records_at: Callable[[str], Iterable[Any]],
    health: HealthView,
    *,
    serial: int,
    memo: CompileMemo | None = None,
) -> ZoneSnapshot | None:
    """`previous` with the nodes of the record names in `names` ("www", "@") rebuilt from
    `records_at(name)` (the record sets there now), plus the apex (whose SOA carries the new
    serial); every other node shared by reference. A change to one name of a zone of a million
    costs that name, not the zone.

    None when the change reaches beyond its own node, for the caller to compile the zone whole: an
    SOA or NS record set (the apex, cuts and their glue), a name at or below a cut, a name some NS
    record points at (glue), a name that lost all its answers (which empty non-terminals remain
    is a question about the whole zone), or other zone settings. `previous` must have been
    compiled with the same health view: a zone whose answers health changed is compiled whole.
    """
    apex = zone.name
    if apex != previous.name or zone.tenant != previous.tenant or zone.ttl != previous.default_ttl:
        return None
    memo = CompileMemo() if memo is None else memo
    serial %= SERIAL_MODULUS
    tenant = zone.tenant
    default_ttl = zone.ttl
    nodes = dict(previous.nodes)
    health_keys = set(previous.health_keys)  # a superset is safe: it only decides what to recompile
    added: list[str] = []
    for name in names:
        if name == APEX:
            continue  # rebuilt below in any case
        owner = f"{name}.{apex}"
        if owner in previous.ns_targets or previous.delegation_for(owner) is not None:
            return None
        records = records_at(name)
        if any(record.type in ("SOA", "NS") for record in records):
            return None
        answers = _answers(records, apex, default_ttl, tenant, health, memo, health_keys)
        old = nodes.get(owner)
        if not answers:
            if old is not None and old is not _EMPTY_NODE:
                return None
            continue
        nodes[owner] = Node(answers)
        if old is None:
            added.append(owner)
    apex_records = records_at(APEX)
    soa_record = next((record for record in apex_records if record.type == "SOA"), None)
    apex_ns_targets = next((record.values for record in apex_records if record.type == "NS"), ())
    apex_answers = _answers(
        [record for record in apex_records if record.type != "SOA"],
        apex,
        default_ttl,
        tenant,
        health,
        memo,
        health_keys,
    )
    soa, zone_serial, minimum = _soa(zone, soa_record, apex_ns_targets, serial, memo)
    apex_answers[_SOA] = soa
    nodes[apex] = Node(apex_answers)
    for owner in added:
        _add_empty_non_terminals_above(nodes, owner, apex)
    new_wildcards = {owner for owner in added if owner.startswith("*.")}
    wildcards = previous.wildcards | new_wildcards if new_wildcards else previous.wildcards
    return _zone_snapshot(
        zone,
        soa,
        zone_serial,
        minimum,
        memo,
        apex_ns=previous.apex_ns,
        nodes=nodes,
        delegations=previous.delegations,
        wildcards=wildcards,
        health_keys=frozenset(health_keys),
        ns_targets=previous.ns_targets,
    )


def _answers(
    records: Iterable[Any],
    apex: str,
    default_ttl: int,
    tenant: str,
    health: HealthView,
    memo: CompileMemo,
    health_keys: set[str],
) -> dict[int, Answer]:
    """The answers of one node's record sets (no SOA among them), by type; the health states the
    dynamic ones depend on are added to `health_keys`."""
    answers: dict[int, Answer] = {}
    for record in records:
        _, answer = _compile_record(record, apex, default_ttl, tenant, health, memo)
        if answer is not None:
            answers[answer.rdtype] = answer
            if isinstance(answer, DynamicAnswer):
                health_keys |= answer.health_keys
    return answers


def _zone_snapshot(
    zone: ZoneSpec,
    soa: StaticAnswer,
    serial: int,
    minimum: int,
    memo: CompileMemo,
    *,
    apex_ns: Referral,
    nodes: Mapping[str, Node],
    delegations: Mapping[str, Referral],
    wildcards: frozenset[str],
    health_keys: frozenset[str],
    ns_targets: frozenset[str],
) -> ZoneSnapshot:
    """A zone's snapshot around its SOA, from which negative answers take their TTL and record
    (RFC 2308 section 5: the lesser of the SOA's TTL and its minimum)."""
    negative_ttl = min(soa.ttl, minimum)
    return ZoneSnapshot(
        name=zone.name,
        tenant=zone.tenant,
        default_ttl=zone.ttl,
        serial=serial,
        soa=soa,
        negative_ttl=negative_ttl,
        negative_soa_wire=rr_with_owner(memo.name(zone.name), _SOA, negative_ttl, soa.rdatas[0]),
        apex_ns=apex_ns,
        nodes=nodes,
        delegations=delegations,
        wildcards=wildcards,
        health_keys=health_keys,
        ns_targets=ns_targets,
    )


def _add_empty_non_terminals(nodes: dict[str, Node], apex: str) -> None:
    # A name with nothing of its own but names below it exists (NODATA, not NXDOMAIN), and it stops
    # wildcards above it from matching below it (RFC 4592 section 2.2.2).
    for owner in list(nodes):
        _add_empty_non_terminals_above(nodes, owner, apex)


def _add_empty_non_terminals_above(nodes: dict[str, Node], owner: str, apex: str) -> None:
    suffix_len = len(apex)
    name = owner
    while len(name) > suffix_len:
        name = name[name.find(".") + 1 :]
        if name in nodes:
            break
        nodes[name] = _EMPTY_NODE
