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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gslb.engine.snapshot import StaticAnswer, ZoneSnapshot
from gslb.engine.wire import RDTYPE, encode_a, encode_aaaa, encode_name

__all__ = ["TransferRRset", "fail_open_values", "transfer_rrsets"]

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


def _canonical_key(owner: str) -> tuple[str, ...]:
    # RFC 4034 canonical order (labels compared from the root): a zone's apex first, names grouped
    # by the subtree they are in. Order does not matter to AXFR; a stable one makes diffs readable.
    return tuple(reversed(owner.rstrip(".").split(".")))


def transfer_rrsets(zone: ZoneSnapshot, docs: Mapping[str, Any]) -> list[TransferRRset]:
    """Every record set of `zone` but the SOA, in canonical order; `docs` are the policy documents
    by store key (the dynamic record sets are read from there)."""
    out: list[TransferRRset] = []
    apex = zone.name
    for owner in sorted(zone.nodes, key=_canonical_key):
        node = zone.nodes[owner]
        for code in sorted(node.rrsets):
            if code == _SOA:
                continue
            answer = node.rrsets[code]
            if isinstance(answer, StaticAnswer):
                out.append(TransferRRset(owner, code, answer.ttl, answer.rdatas))
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
                out.append(TransferRRset(owner, code, answer.ttl, tuple(dict.fromkeys(rdatas))))
    return out
