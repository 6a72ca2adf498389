"""Load-balancing algorithms over a pool's members (pure: no I/O, no clock).

Each picker returns the index of the chosen member among `members`, skipping those whose `ok`
flag is False (`ok=None`: every member is usable), or None when none is usable. Members carry
`weight` and `active` (requests in flight); pickers keep only their own small state.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from typing import Protocol


class Weighted(Protocol):
    @property
    def weight(self) -> int: ...

    @property
    def active(self) -> int: ...


class Picker(Protocol):
    def pick(
        self, members: Sequence[Weighted], ok: Sequence[bool] | None, key: bytes | None
    ) -> int | None: ...


class RoundRobin:
    def __init__(self, size: int) -> None:
        self._next = 0

    def pick(self, members: Sequence[Weighted], ok: Sequence[bool] | None, key: bytes | None) -> int | None:
        count = len(members)
        start = self._next
        for step in range(count):
            index = (start + step) % count
            if ok is None or ok[index]:
                self._next = index + 1
                return index
        return None


class SmoothWeighted:
    """nginx's smooth weighted round robin: weights 5,1,1 give a a b a c a a, not a a a a a b c."""

    def __init__(self, size: int) -> None:
        self._current = [0] * size

    def pick(self, members: Sequence[Weighted], ok: Sequence[bool] | None, key: bytes | None) -> int | None:
        current = self._current
        best = -1
        total = 0
        for index, member in enumerate(members):
            if ok is not None and not ok[index]:
                continue
            current[index] += member.weight
            total += member.weight
            if best < 0 or current[index] > current[best]:
                best = index
        if best < 0:
            return None
        current[best] -= total
        return best


class LeastConnections:
    """Fewest requests in flight per unit of weight; ties go round robin so idle pools still spread."""

    def __init__(self, size: int) -> None:
        self._next = 0

    def pick(self, members: Sequence[Weighted], ok: Sequence[bool] | None, key: bytes | None) -> int | None:
        count = len(members)
        best = -1
        best_load = 0.0
        start = self._next
        for step in range(count):
            index = (start + step) % count
            if ok is not None and not ok[index]:
                continue
            member = members[index]
            load = member.active / member.weight
            if best < 0 or load < best_load:
                best, best_load = index, load
        if best >= 0:
            self._next = best + 1
        return best if best >= 0 else None


def hash64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class ConsistentHash:
    """A hash ring (points per member in proportion to weight): a key keeps its member while that
    member is usable; when it is not, the key moves to the next member on the ring and only those
    keys move. Without a key (no such header or cookie) it falls back to round robin."""

    POINTS_PER_WEIGHT = 40
    MAX_POINTS = 160_000

    def __init__(self, size: int, member_ids: Sequence[str] = (), weights: Sequence[int] = ()) -> None:
        self._fallback = RoundRobin(size)
        points: list[tuple[int, int]] = []
        total = sum(weights) or 1
        per_weight = max(1, min(self.POINTS_PER_WEIGHT, self.MAX_POINTS // total))
        for index, (member_id, weight) in enumerate(zip(member_ids, weights, strict=True)):
            for replica in range(weight * per_weight):
                points.append((hash64(f"{member_id}#{replica}".encode()), index))
        points.sort()
        self._hashes = [point for point, _ in points]
        self._owners = [owner for _, owner in points]

    def pick(self, members: Sequence[Weighted], ok: Sequence[bool] | None, key: bytes | None) -> int | None:
        if key is None or not self._hashes:
            return self._fallback.pick(members, ok, None)
        start = bisect.bisect(self._hashes, hash64(key))
        owners = self._owners
        count = len(owners)
        for step in range(count):
            owner = owners[(start + step) % count]
            if ok is None or ok[owner]:
                return owner
        return None


def make_picker(algorithm: str, member_ids: Sequence[str], weights: Sequence[int]) -> Picker:
    size = len(member_ids)
    if algorithm == "round_robin":
        return RoundRobin(size)
    if algorithm == "weighted":
        return SmoothWeighted(size)
    if algorithm == "least_connections":
        return LeastConnections(size)
    if algorithm == "consistent_hash":
        return ConsistentHash(size, member_ids, weights)
    raise ValueError(f"unknown load-balancing algorithm {algorithm!r}")
