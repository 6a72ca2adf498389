"""Every Redis key name the store uses, built in one place so no two modules disagree."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeySpace:
    prefix: str = "gslb"

    def revision(self) -> str:
        return f"{self.prefix}:rev"

    def epoch(self) -> str:
        """Random ID of this data set, set by the first commit: a Redis that lost its data gets a new one."""
        return f"{self.prefix}:epoch"

    def docs(self) -> str:
        """Hash: document key -> JSON envelope {"rev", "tenant", "body"}."""
        return f"{self.prefix}:docs"

    def tenant_index(self, tenant: str) -> str:
        return f"{self.prefix}:idx:tenant:{tenant}"

    def kind_index(self, kind: str) -> str:
        return f"{self.prefix}:idx:kind:{kind}"

    def changes(self) -> str:
        """Stream of change entries; entry IDs are "<revision>-0"."""
        return f"{self.prefix}:changes"

    def health_votes(self, check_key: str) -> str:
        """Hash: checker site -> JSON vote, for one member's check (not on the change feed)."""
        return f"{self.prefix}:votes:{check_key}"
