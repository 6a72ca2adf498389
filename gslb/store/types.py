"""The store's own vocabulary: references, stored documents, write operations and change entries.

The store is generic: bodies are JSON objects it never interprets, which keeps it independent of
the policy model (validation happens a layer above).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from gslb.store.errors import StoreError

_KIND = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_NAME_BYTES = 1024


@dataclass(frozen=True, slots=True)
class DocRef:
    kind: str
    name: str

    def __post_init__(self) -> None:
        if not _KIND.match(self.kind):
            raise StoreError(f"document kind {self.kind!r} must be lowercase letters, digits and '_'")
        if not self.name or "\n" in self.name or "\x00" in self.name or "\r" in self.name:
            raise StoreError(f"document name {self.name!r} must be non-empty and on one line")
        if len(self.name.encode()) > MAX_NAME_BYTES:
            raise StoreError(f"document name is longer than {MAX_NAME_BYTES} bytes")

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, key: str) -> DocRef:
        kind, sep, name = key.partition(":")
        if not sep:
            raise StoreError(f"{key!r} is not a document key of the form 'kind:name'")
        return cls(kind, name)


@dataclass(frozen=True, slots=True)
class StoredDoc:
    ref: DocRef
    tenant: str
    rev: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Put:
    """Create or replace. if_rev: None = unconditional, 0 = must not exist, n = current rev must be n."""

    ref: DocRef
    tenant: str
    body: dict[str, Any]
    if_rev: int | None = None


@dataclass(frozen=True, slots=True)
class Delete:
    ref: DocRef
    if_rev: int | None = None


Op = Put | Delete


@dataclass(frozen=True, slots=True)
class Change:
    op: Literal["put", "delete"]
    ref: DocRef
    tenant: str
    body: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ChangeEntry:
    """One commit: everything it changed, at one revision. `reload` entries carry no changes."""

    rev: int
    ts: float
    actor: str | None
    changes: tuple[Change, ...]
    reload: bool = False
    epoch: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rev": self.rev,
            "ts": self.ts,
            "actor": self.actor,
            "reload": self.reload,
            "epoch": self.epoch,
            "changes": [
                {"op": c.op, "key": c.ref.key, "tenant": c.tenant, "body": c.body} for c in self.changes
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChangeEntry:
        return cls(
            rev=int(data["rev"]),
            ts=float(data["ts"]),
            actor=data.get("actor"),
            reload=bool(data.get("reload", False)),
            epoch=data.get("epoch"),
            changes=tuple(
                Change(c["op"], DocRef.parse(c["key"]), c.get("tenant", ""), c.get("body"))
                for c in data.get("changes", ())
            ),
        )


@dataclass(frozen=True, slots=True)
class StateDump:
    rev: int
    docs: dict[str, StoredDoc] = field(default_factory=dict)
    epoch: str | None = None
