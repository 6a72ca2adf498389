"""Every Redis key name the store uses, built in one place so no two modules disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gslb.store.errors import InvalidRequestError

_PREFIX = re.compile(r"[A-Za-z0-9_.:/-]+")


@dataclass(frozen=True, slots=True)
class KeySpace:
    """All keys live under one prefix, so several installs (or test runs) can share one Redis."""

    prefix: str = "gslb"

    def __post_init__(self) -> None:
        if not _PREFIX.fullmatch(self.prefix):
            raise InvalidRequestError(
                f"key prefix {self.prefix!r} must be non-empty letters, digits or any of _.:/-"
            )

    def revision(self) -> str:
        """String: the global revision, an integer; absent means 0 (empty store)."""
        return f"{self.prefix}:rev"

    def head_commit(self) -> str:
        """String: commit_id of the latest commit (the next one names it as its parent).

        A Redis that lost its latest writes has an older head: followers compare, and reload.
        """
        return f"{self.prefix}:head"

    def docs(self) -> str:
        """Hash: document key -> JSON envelope {"rev", "tenant", "body"}."""
        return f"{self.prefix}:docs"

    def tenant_index(self, tenant: str) -> str:
        """Set of document keys owned by one tenant."""
        return f"{self.prefix}:idx:tenant:{tenant}"

    def kind_index(self, kind: str) -> str:
        """Set of document keys of one kind."""
        return f"{self.prefix}:idx:kind:{kind}"

    def changes(self) -> str:
        """Stream of change entries; entry IDs are "<revision>-0"."""
        return f"{self.prefix}:changes"

    def health_votes(self, check_key: str) -> str:
        """Hash: checker site -> JSON vote, for one check target (high rate, so not on the change feed)."""
        return f"{self.prefix}:votes:{check_key}"
