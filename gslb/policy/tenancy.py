"""Tenants (nestable organisations) and the zones they own."""

from __future__ import annotations

from pydantic import Field

from gslb.policy.base import DomainName, Model, TenantName, Ttl
from gslb.policy.transfer import ZoneTransferSpec


class TenantSpec(Model):
    name: TenantName
    parent: TenantName | None = Field(None, description="parent organisation; roles inherit downwards")
    display_name: str = Field("", max_length=200)
    labels: dict[str, str] = Field(default_factory=dict)

    def doc_name(self) -> str:
        return self.name


class ZoneSpec(Model):
    """A zone delegated to us. Its apex NS record set is required; SOA is synthesised unless given."""

    name: DomainName
    tenant: TenantName
    ttl: Ttl = Field(300, description="TTL of record sets that set none")
    description: str = Field("", max_length=500)
    transfer: ZoneTransferSpec | None = Field(
        None, description="zone transfers (AXFR with TSIG) and NOTIFY; null: no transfers"
    )

    def doc_name(self) -> str:
        return self.name
