"""What a zone transfer (AXFR) carries: every record set of a compiled zone as a secondary serves it.

A secondary (BIND, NSD, Knot) answers every client alike and knows nothing of health, so each
dynamic record set is transferred as its *fail-open answer set*: what gslb answers a client that
matches no rule while health is unknown —

- the record's static `values` when it has any (what gslb answers when no rule matches, and what
  octoDNS publishes to providers without dynamic records);
- otherwise every member of the first rule's pool (for a `nearest` rule: its first candidate pool
  that has a location), regardless of health, exactly what `on_all_down: fail_open` answers; members
  forced `status: down` are left out (an operator drained them), unless that leaves none;
- a CNAME has one target: the heaviest member (the first one listed on a tie).

Health never changes this set, so a health flap does not change the transferred zone (and the
SOA serial does not move for it: see `gslb.engine.compile.recompile`). Static record sets,
delegation NS and glue are transferred as compiled. The SOA is not in the list: the caller sends
it first and last.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gslb.engine.snapshot import StaticAnswer, ZoneSnapshot
from gslb.engine.wire import RDTYPE, encode_a, encode_aaaa, encode_name

__all__ = ["TransferRRset", "fail_open_values", "iter_transfer_rrsets", "transfer_rrsets"]

_SOA = RDTYPE["SOA"]
_DYNAMIC_MNEMONIC = {RDTYPE["A"]: "A", 28: "AAAA", RDTYPE["CNAME"]: "CNAME"}


@dataclass(frozen=True, slots=True)
class TransferRRset:
    owner: str  # absolute, lower-case
    rdtype: int
    ttl: int
    rdatas: tuple[bytes, ...]


def fail_open_values(rdtype: str, record: Any) -> list[str]:
    """The values a secondary serves for a dynamic record set (see the module docstring)."""
    static = [str(value) for value in record.values]
    if static:
        return static
    dynamic = record.dynamic
    for rule in dynamic.rules:
        for pool_name in rule.target_pools:
            pool = dynamic.pools.get(pool_name)
            if pool is None or (rule.nearest is not None and pool.location is None):
                continue  # compile skips these candidates too
            members = [member for member in pool.values if member.status != "down"] or list(pool.values)
            if rdtype == "CNAME":
                members = [max(members, key=lambda member: member.weight)]
            return [member.value for member in members]
    return []


def _encode(rdtype: str, value: str) -> bytes:
    if rdtype == "A":
        return encode_a(value)
    if rdtype == "AAAA":
        return encode_aaaa(value)
    return encode_name(value)


def iter_transfer_rrsets(zone: ZoneSnapshot, docs: Mapping[str, Any]) -> Iterator[TransferRRset]:
    """Every record set of `zone` but the SOA, apex first; `docs` are the policy documents by store
    key (the dynamic record sets are read from there). A generator, so a large zone can be built a
    slice at a time."""
    apex = zone.name
    # Apex first, then by name: AXFR lets records come in any order, a stable one makes transfers
    # comparable, and a plain string sort keeps 100,000 names at a few milliseconds.
    owners = sorted(zone.nodes)
    if apex in zone.nodes:
        owners.remove(apex)
        owners.insert(0, apex)
    for owner in owners:
        rrsets = zone.nodes[owner].rrsets  # built on demand by compact nodes: once per name
        for code in sorted(rrsets):
            if code == _SOA:
                continue
            answer = rrsets[code]
            if isinstance(answer, StaticAnswer):
                yield TransferRRset(owner, code, answer.ttl, answer.rdatas)
                continue
            mnemonic = _DYNAMIC_MNEMONIC.get(code)
            relative = "@" if owner == apex else owner[: -len(apex) - 1]
            record = docs.get(f"rrset:{apex}/{relative}/{mnemonic}")
            if mnemonic is None or record is None or getattr(record, "dynamic", None) is None:
                continue  # the snapshot and the policy disagree for a moment: the next transfer has it
            rdatas: list[bytes] = []
            for value in fail_open_values(mnemonic, record):
                try:
                    rdatas.append(_encode(mnemonic, value))
                except ValueError:
                    continue  # validation reports bad values; compile answers the good ones
            if rdatas:
                yield TransferRRset(owner, code, answer.ttl, tuple(dict.fromkeys(rdatas)))


def transfer_rrsets(zone: ZoneSnapshot, docs: Mapping[str, Any]) -> list[TransferRRset]:
    """`iter_transfer_rrsets` as a list."""
    return list(iter_transfer_rrsets(zone, docs))
