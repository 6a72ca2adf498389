"""Pickers: the per-query half of `select` as one small function, for servers that remember decisions.

A `Decision` (rules matched, outcome chosen, ECS scope) is the same for every query of one client;
only a random weighted pick changes per query. A server that caches decisions per client then
needs, per query, nothing but "64 random bits in, answer records out". `random_picker` returns
exactly that function, giving for every entropy the same records `pick` gives, without building a
`Selection`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import NamedTuple

from gslb.engine.dynamic import DynamicAnswer
from gslb.engine.outcome import Outcome

__all__ = ["RandomPicker", "is_deterministic", "random_picker"]


class RandomPicker(NamedTuple):
    choose: Callable[[int], bytes]  # 64 random bits -> the answer records (owner 0xC00C)
    max_len: int  # the longest result, for deciding once whether answers fit the client's limit


def is_deterministic(answer: DynamicAnswer, outcome: Outcome) -> bool:
    """True when every query gets the same records from `outcome` for a given client."""
    return answer.sticky is not None or outcome.size <= 1 or outcome.fixed


def random_picker(answer: DynamicAnswer, outcome: Outcome) -> RandomPicker | None:
    """The random pick of `pick` as a function, or None for picks without a shortcut.

    Only for outcomes that are not `is_deterministic`. None for "several distinct answers out of
    more members" (max_answers between 2 and size - 1), which samples by rendezvous keys: callers
    use `pick` for those.
    """
    wanted = answer.max_answers
    size = outcome.size
    cumulative = outcome.cumulative
    total = outcome.total
    if wanted == 1:
        rrs = outcome.rrs

        def one(entropy: int) -> bytes:
            return rrs[bisect_right(cumulative, entropy % total)]

        return RandomPicker(one, max(len(rr) for rr in rrs))
    if wanted is None or wanted >= size:
        doubled = outcome.doubled_wire
        offsets = outcome.offsets
        length = outcome.wire_len

        def rotation(entropy: int) -> bytes:
            start = offsets[bisect_right(cumulative, entropy % total)]
            return doubled[start : start + length]

        return RandomPicker(rotation, length)
    return None
