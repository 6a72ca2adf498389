"""The store's exception tree. Messages say what to do, never leak passwords."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class StoreError(Exception):
    """Base of every store error."""


@dataclass(frozen=True, slots=True)
class KeyConflict:
    key: str
    expected: int  # the if_rev the writer gave (0 = expected absent)
    actual: int  # the current revision of the document (0 = absent)

    def __str__(self) -> str:
        want = "absent" if self.expected == 0 else f"revision {self.expected}"
        have = "absent" if self.actual == 0 else f"at revision {self.actual}"
        return f"{self.key}: expected {want}, but it is {have}"


class ConflictError(StoreError):
    """The documents changed since the writer read them; nothing was written."""

    def __init__(self, conflicts: Sequence[KeyConflict], message: str | None = None) -> None:
        self.conflicts = tuple(conflicts)
        detail = "; ".join(str(conflict) for conflict in self.conflicts)
        super().__init__(message or f"conflict, nothing written: {detail}. Reload and retry.")


class StaleRevisionError(ConflictError):
    """The store's revision moved past the one the writer validated against; nothing was written."""

    def __init__(self, base: int, current: int) -> None:
        self.base = base
        self.current = current
        super().__init__(
            (), f"the store moved from revision {base} to {current}; nothing written. Reload and retry."
        )


class StoreUnavailableError(StoreError):
    """The store cannot be reached."""


class EmbeddedStoreError(StoreError):
    """The embedded store's files cannot be used (locked, corrupt, unwritable)."""
