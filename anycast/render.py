"""The one place ExaBGP command lines are written: a pure function from a route to text.

ExaBGP reads one command per line from our stdout, so a newline or a stray keyword inside a value
would become a command of its own. The policy model already parses every value (addresses,
numbers, communities); this renderer builds lines only from those parsed values and re-checks
the finished line, so no text a user typed is ever passed through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Literal

from gslb.policy.anycast import WELL_KNOWN_COMMUNITIES

Action = Literal["announce", "withdraw"]

# What a finished line may contain: ASCII words of address, number and bracket characters.
_SAFE_LINE = re.compile(r"[a-z0-9 .:/\[\]-]+")


class RenderError(ValueError):
    """A route that cannot be expressed safely as an ExaBGP command (a bug upstream, never user input)."""


@dataclass(frozen=True, slots=True)
class Route:
    """One announcement as ExaBGP will send it. `as_path` empty: ExaBGP's default (local AS once on eBGP)."""

    prefix: IPv4Network | IPv6Network
    next_hop: IPv4Address | IPv6Address | Literal["self"] = "self"
    med: int | None = None
    local_preference: int | None = None
    communities: tuple[str, ...] = ()
    as_path: tuple[int, ...] = ()


def _split_communities(communities: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Standard communities as numeric ASN:VALUE (ExaBGP knows few names), large ones apart."""
    standard: list[str] = []
    large: list[str] = []
    for community in communities:
        text = WELL_KNOWN_COMMUNITIES.get(community, community)
        parts = text.split(":")
        if not all(part.isascii() and part.isdigit() for part in parts) or len(parts) not in (2, 3):
            raise RenderError(f"community {community!r} is not in canonical form")
        numbers = ":".join(str(int(part)) for part in parts)
        target = standard if len(parts) == 2 else large
        if numbers not in target:
            target.append(numbers)
    return standard, large


def render(action: Action, route: Route) -> str:
    """The ExaBGP API line announcing or withdrawing `route` (no trailing newline)."""
    words = [action, "route", str(route.prefix), "next-hop", str(route.next_hop)]
    if action == "announce":
        if route.med is not None:
            words += ["med", str(int(route.med))]
        if route.local_preference is not None:
            words += ["local-preference", str(int(route.local_preference))]
        standard, large = _split_communities(route.communities)
        if standard:
            words += ["community", "[" + " ".join(standard) + "]"]
        if large:
            words += ["large-community", "[" + " ".join(large) + "]"]
        if route.as_path:
            words += ["as-path", "[" + " ".join(str(int(asn)) for asn in route.as_path) + "]"]
    elif action != "withdraw":
        raise RenderError(f"unknown action {action!r}")
    line = " ".join(words)
    if not _SAFE_LINE.fullmatch(line):
        raise RenderError(f"refusing to send an unsafe ExaBGP line: {line!r}")
    return line
