"""What ExaBGP writes to our stdin, classified without I/O.

With `encoder json` ExaBGP sends events as one JSON object per line; acknowledgements of our
commands are the bare words `done` / `error` (ExaBGP's `shutdown` when it is stopping), and the
output of a `show` command is plain text lines before its `done`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

ACKS = frozenset({"done", "error"})


@dataclass(frozen=True, slots=True)
class Message:
    kind: Literal["ack", "shutdown", "event", "text"]
    text: str
    event: dict[str, Any] | None = None


def classify(line: str) -> Message:
    text = line.strip()
    if text in ACKS:
        return Message("ack", text)
    if text == "shutdown":
        return Message("shutdown", text)
    if text.startswith("{"):
        try:
            event = json.loads(text)
        except ValueError:
            return Message("text", text)
        if not isinstance(event, dict):
            return Message("text", text)
        if event.get("type") == "notification" and event.get("notification") == "shutdown":
            return Message("shutdown", text, event)
        return Message("event", text, event)
    return Message("text", text)


def neighbor_state(event: dict[str, Any]) -> tuple[str, str] | None:
    """(peer address, state) of a neighbor state event ("connected", "up", "down"), else None."""
    if event.get("type") != "state":
        return None
    neighbor = event.get("neighbor")
    if not isinstance(neighbor, dict):
        return None
    address = neighbor.get("address", {})
    peer = address.get("peer") if isinstance(address, dict) else None
    return str(peer), str(neighbor.get("state"))


def adj_rib_out_prefixes(lines: list[str]) -> set[str]:
    """Prefixes in the text of `show adj-rib out`: "PEER ipv4 unicast PREFIX next-hop ..." lines."""
    prefixes = set()
    for line in lines:
        words = line.split()
        if len(words) >= 4 and words[1] in ("ipv4", "ipv6") and words[2] == "unicast":
            prefixes.add(words[3])
    return prefixes
