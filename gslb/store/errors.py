"""The store's exception tree. Messages say what to do next and never contain a password."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class StoreError(Exception):
    """Base of every store error."""


class InvalidRequestError(StoreError, ValueError):
    """The caller asked for something malformed (bad key, empty or repeated commit, non-JSON body)."""


@dataclass(frozen=True, slots=True)
class KeyConflict:
    """One document whose revision was not what the writer expected."""

    key: str
    expected: int  # the if_rev the writer gave (0 = expected absent)
    actual: int  # the document's current revision (0 = absent)

    def __str__(self) -> str:
        want = "absent" if self.expected == 0 else f"revision {self.expected}"
        have = "absent" if self.actual == 0 else f"at revision {self.actual}"
        return f"{self.key}: expected {want}, but it is {have}"


class ConflictError(StoreError):
    """Documents changed since the writer read them; nothing was written."""

    def __init__(self, conflicts: Sequence[KeyConflict], message: str | None = None) -> None:
        self.conflicts = tuple(conflicts)
        detail = "; ".join(str(conflict) for conflict in self.conflicts)
        super().__init__(message or f"conflict, nothing written: {detail}. Reload and retry.")


class StaleRevisionError(ConflictError):
    """The store moved past the revision the writer based its change on; nothing was written."""

    def __init__(self, base: int, current: int, message: str | None = None) -> None:
        self.base = base
        self.current = current
        super().__init__(
            (),
            message
            or f"the store moved from revision {base} to {current}; nothing written. Reload and retry.",
        )


class StoreUnavailableError(StoreError):
    """The store cannot be reached (or refused us); the message names where and hints why."""


class EmbeddedStoreError(StoreError):
    """The embedded store's files cannot be used (locked, corrupt, unwritable)."""
