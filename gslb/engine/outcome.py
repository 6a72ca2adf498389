"""What a dynamic answer can end in once health is known: a set of members to pick answers from.

An `Outcome` is compiled once per pool chain and health state and holds everything selection needs
as flat tuples and ready-made bytes, so picking answers costs a bisect or a short hash loop and one
slice: no objects are built per query beyond the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from gslb.engine.wire import rr_for_question

__all__ = ["Member", "Outcome", "build_outcome", "make_member", "member_seed"]


class Member(NamedTuple):
    """One answer value: its presentation text, its resource record and its share of answers.

    Only compile handles members (an `Outcome` keeps flat tuples of their fields), and compile makes
    tens of thousands: a NamedTuple is built in a third of the time of a frozen dataclass.
    """

    value: str
    rr: bytes
    weight: int
    seed: int  # stable hash of the rdata: the member's identity for rendezvous hashing


def member_seed(rdata: bytes) -> int:
    # blake2b, not hash(): Python salts str/bytes hashes per process, and sticky answers must
    # agree across restarts and across the nodes of an anycast group.
    return int.from_bytes(hashlib.blake2b(rdata, digest_size=8).digest(), "big")


@dataclass(frozen=True, slots=True)
class Outcome:
    """Members to answer from, and why. Empty (size 0) means "no data" (fail_closed).

    `fixed` outcomes (a dynamic record's static values) answer every value in the order given;
    the others pick members by weight.
    """

    pool: str | None
    reason: str
    healthy: bool  # False when answered regardless of health (fail_open, all_down_pool)
    fixed: bool
    size: int
    values: tuple[str, ...]
    rrs: tuple[bytes, ...]
    seeds: tuple[int, ...]
    inv_weights: tuple[float, ...]
    cumulative: tuple[int, ...]  # running weight totals, for bisect on `entropy % total`
    total: int
    # All RRs twice in a row: the rotation starting at member i is one slice
    # [offsets[i] : offsets[i] + wire_len], so "all members, weighted first" costs no join.
    doubled_wire: bytes
    offsets: tuple[int, ...]
    wire_len: int
    doubled_values: tuple[str, ...]
    singles: tuple[tuple[str], ...]  # (value,) per member: a one-answer selection allocates nothing


def _merge_duplicates(members: Sequence[Member]) -> Sequence[Member]:
    # Two members with the same value (e.g. in one pool via two probes) would put the same RR twice
    # into an answer; they are one answer with the summed weight.
    if len({member.rr for member in members}) == len(members):
        return members
    merged: dict[bytes, Member] = {}
    for member in members:
        seen = merged.get(member.rr)
        merged[member.rr] = member if seen is None else seen._replace(weight=seen.weight + member.weight)
    return list(merged.values())


def build_outcome(
    members: Sequence[Member], *, pool: str | None, reason: str, healthy: bool = True, fixed: bool = False
) -> Outcome:
    chosen = _merge_duplicates(members)
    values = tuple([member.value for member in chosen])
    rrs = tuple([member.rr for member in chosen])
    cumulative = []
    offsets = []
    total = 0
    offset = 0
    for member in chosen:
        total += member.weight
        cumulative.append(total)
        offsets.append(offset)
        offset += len(member.rr)
    wire = b"".join(rrs)
    return Outcome(
        pool,
        reason,
        healthy,
        fixed,
        len(chosen),
        values,
        rrs,
        tuple([member.seed for member in chosen]),
        tuple([1.0 / member.weight for member in chosen]),
        tuple(cumulative),
        total,
        wire + wire,
        tuple(offsets),
        len(wire),
        values + values,
        tuple([(value,) for value in values]),
    )


def make_member(value: str, rdtype: int, ttl: int, rdata: bytes, weight: int) -> Member:
    return Member(value, rr_for_question(rdtype, ttl, rdata), weight, member_seed(rdata))
