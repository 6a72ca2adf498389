"""The importer's one exception: every problem of a file, each already located as FILE:LINE."""

from __future__ import annotations

from collections.abc import Sequence


class PolicyImportError(ValueError):
    """A file (or the state it would produce) cannot be imported; `messages` lists every reason.

    Each message starts with "FILE:LINE:" (and the column when known) so editors and CI logs can
    jump to it; the whole list is gathered before raising so users fix a file in one pass.
    """

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages: list[str] = list(messages)
        lines = "\n".join(f"  {message}" for message in self.messages)
        super().__init__(f"{len(self.messages)} problem(s):\n{lines}")


class ScopeError(ValueError):
    """A plan would write documents the import is not authoritative for (e.g. another tenant's zone)."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages: list[str] = list(messages)
        super().__init__("; ".join(self.messages))
