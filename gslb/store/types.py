"""The store's own vocabulary: references, stored documents, write operations and change entries.

The store is generic: bodies are JSON objects it never interprets, which keeps it independent of
the policy model (validation happens a layer above).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gslb.store.errors import InvalidRequestError

_KIND = re.compile(r"[a-z][a-z0-9_]*")
MAX_KIND_CHARS = 64
MAX_NAME_BYTES = 1024


def _check_label(what: str, value: object, *, allow_empty: bool) -> None:
    # Names end up in Redis hash fields, index keys and journal lines: one line, bounded size.
    if not isinstance(value, str):
        raise InvalidRequestError(f"{what} must be a string, not {type(value).__name__}")
    if not value and not allow_empty:
        raise InvalidRequestError(f"{what} must not be empty")
    if "\n" in value or "\r" in value or "\x00" in value:
        raise InvalidRequestError(f"{what} {value!r} must be on one line and contain no NUL")
    if len(value.encode()) > MAX_NAME_BYTES:
        raise InvalidRequestError(f"{what} {value[:40]!r}... is longer than {MAX_NAME_BYTES} bytes")


def _check_if_rev(if_rev: object) -> None:
    if if_rev is not None and (not isinstance(if_rev, int) or isinstance(if_rev, bool) or if_rev < 0):
        raise InvalidRequestError(
            f"if_rev must be None (unconditional), 0 (must not exist) or a revision > 0, not {if_rev!r}"
        )


@dataclass(frozen=True, slots=True)
class DocRef:
    """Names one document. Names are unique within a kind; tenant scoping is the caller's naming."""

    kind: str
    name: str

    def __post_init__(self) -> None:
        if (
            not isinstance(self.kind, str)
            or not _KIND.fullmatch(self.kind)
            or len(self.kind) > MAX_KIND_CHARS
        ):
            raise InvalidRequestError(
                f"document kind {self.kind!r} must be a short lowercase word: "
                "a letter, then letters, digits or '_'"
            )
        _check_label("document name", self.name, allow_empty=False)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, key: str) -> DocRef:
        kind, sep, name = key.partition(":")
        if not sep:
            raise InvalidRequestError(f"{key!r} is not a document key of the form 'kind:name'")
        return cls(kind, name)


@dataclass(frozen=True, slots=True)
class StoredDoc:
    ref: DocRef
    tenant: str
    rev: int  # the global revision at which this document was last written
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Put:
    """Create or replace. if_rev: None = unconditional, 0 = must not exist, n = current rev must be n."""

    ref: DocRef
    tenant: str
    body: dict[str, Any]
    if_rev: int | None = None

    def __post_init__(self) -> None:
        _check_label("tenant", self.tenant, allow_empty=True)
        if not isinstance(self.body, dict):
            raise InvalidRequestError(
                f"{self.ref.key}: a body must be a JSON object, not {type(self.body).__name__}"
            )
        _check_if_rev(self.if_rev)


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove. if_rev as for Put; deleting an absent document unconditionally is not an error."""

    ref: DocRef
    if_rev: int | None = None

    def __post_init__(self) -> None:
        _check_if_rev(self.if_rev)


Op = Put | Delete


@dataclass(frozen=True, slots=True)
class Change:
    op: Literal["put", "delete"]
    ref: DocRef
    tenant: str  # for a delete: the tenant the document had ("" if it did not exist)
    body: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ChangeEntry:
    """One commit: everything it changed, at one revision.

    A `reload` entry carries no changes: the commit was too big for the feed, so followers reload.
    `parent_id` is the `commit_id` of the commit before (None for the first), so a follower notices
    when the history it holds is not the store's any more: a Redis that lost its latest writes (or
    all of them) and reused their revision numbers.
    """

    rev: int
    ts: float
    actor: str | None
    changes: tuple[Change, ...]
    reload: bool = False
    commit_id: str | None = None
    parent_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rev": self.rev,
            "ts": self.ts,
            "actor": self.actor,
            "reload": self.reload,
            "commit_id": self.commit_id,
            "parent_id": self.parent_id,
            "changes": [
                {"op": c.op, "key": c.ref.key, "tenant": c.tenant, "body": c.body} for c in self.changes
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChangeEntry:
        """Raises KeyError, TypeError, ValueError or InvalidRequestError on malformed data."""
        changes = []
        for item in data.get("changes") or ():
            op = item["op"]
            if op not in ("put", "delete"):
                raise ValueError(f"unknown change op {op!r}")
            body = item.get("body")
            if op == "put" and not isinstance(body, dict):
                raise ValueError(f"put of {item['key']} has no object body")
            changes.append(Change(op, DocRef.parse(item["key"]), str(item.get("tenant") or ""), body))
        return cls(
            rev=int(data["rev"]),
            ts=float(data["ts"]),
            actor=data.get("actor"),
            changes=tuple(changes),
            reload=bool(data.get("reload", False)),
            commit_id=data.get("commit_id"),
            parent_id=data.get("parent_id"),
        )

    def as_reload_marker(self) -> ChangeEntry:
        return ChangeEntry(self.rev, self.ts, self.actor, (), True, self.commit_id, self.parent_id)


@dataclass(frozen=True, slots=True)
class Head:
    """Where the store stands: its revision and the commit that made it."""

    rev: int
    commit_id: str | None = None


class EncodedDocs(MutableMapping[str, StoredDoc]):
    """Documents as the store returned them, each decoded on first access (and kept decoded).

    A node loading a million documents holds them encoded (~150 bytes each) rather than as
    dictionaries (~900 bytes each); a consumer that pops them one at a time (the snapshot feed)
    never has more than one decoded at once.
    """

    __slots__ = ("_decode", "_items")

    def __init__(self, decode: Callable[[str, bytes], StoredDoc]) -> None:
        self._decode = decode
        self._items: dict[str, bytes | StoredDoc] = {}

    def set_encoded(self, key: str, raw: bytes) -> None:
        self._items[key] = raw

    def __getitem__(self, key: str) -> StoredDoc:
        item = self._items[key]
        if isinstance(item, bytes):
            item = self._items[key] = self._decode(key, item)
        return item

    def __setitem__(self, key: str, doc: StoredDoc) -> None:
        self._items[key] = doc

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def popitem(self) -> tuple[str, StoredDoc]:
        key, item = self._items.popitem()
        return key, self._decode(key, item) if isinstance(item, bytes) else item

    def clear(self) -> None:
        self._items.clear()


@dataclass(frozen=True, slots=True)
class StateDump:
    """Every document at one revision (keyed by ref.key), read consistently."""

    rev: int
    docs: MutableMapping[str, StoredDoc] = field(default_factory=dict)
    commit_id: str | None = None  # of the commit at `rev`, so a follower can check what comes next
