"""Weighted Maglev lookup tables (Eisenbud et al., NSDI 2016), computed for the XDP forwarder.

Pure: no I/O. Each real walks its own permutation of the table's slots, (offset + j * skip) mod M,
derived from a hash of its stable key (its address), and reals take turns claiming their next free
slot. Weights enter through the turns: every round each real earns `weight` credits and claims a
slot per `max_weight` credits, so slot counts are proportional to weights. Because a real's
permutation depends only on its own key, removing one real reassigns (about) only its own slots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from gslb.policy.l4 import is_prime

__all__ = ["EMPTY", "is_prime", "maglev_table"]

EMPTY = -1  # the slot value of a table with no real of positive weight


def _offset_skip(key: str, size: int) -> tuple[int, int]:
    digest = hashlib.blake2b(key.encode(), digest_size=16, person=b"gslb-maglev").digest()
    first = int.from_bytes(digest[:8], "little")
    second = int.from_bytes(digest[8:], "little")
    return first % size, second % (size - 1) + 1


def maglev_table(reals: Sequence[tuple[str, int]], size: int) -> list[int]:
    """The lookup table of `size` (a prime) slots for `reals` given as (stable key, weight).

    Each slot holds the index of a real in `reals`; reals of weight 0 get no slot; with no real of
    positive weight every slot is EMPTY. Deterministic: the same reals give the same table whatever
    their order in `reals`.
    """
    if not is_prime(size):
        raise ValueError(f"Maglev table size {size} is not prime")
    keys = [key for key, _ in reals]
    if len(set(keys)) != len(keys):
        raise ValueError("Maglev reals must have distinct keys")
    if any(weight < 0 for _, weight in reals):
        raise ValueError("Maglev weights must be >= 0")
    # Order by key so that the input order does not change who wins a contested slot.
    active = sorted((key, weight, index) for index, (key, weight) in enumerate(reals) if weight > 0)
    table = [EMPTY] * size
    if not active:
        return table
    max_weight = max(weight for _, weight, _ in active)
    positions = []  # per active real: [current candidate slot, skip]
    for key, _, _ in active:
        offset, skip = _offset_skip(key, size)
        positions.append([offset, skip])
    credits = [0] * len(active)
    filled = 0
    while True:
        for turn, (_, weight, index) in enumerate(active):
            credits[turn] += weight
            while credits[turn] >= max_weight:
                credits[turn] -= max_weight
                position = positions[turn]
                slot, skip = position
                while table[slot] != EMPTY:
                    slot = (slot + skip) % size
                table[slot] = index
                position[0] = (slot + skip) % size
                filled += 1
                if filled == size:
                    return table
