"""L4 virtual IPs served by the XDP forwarder (or the L4 proxy where XDP is unavailable)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gslb.policy.base import IPAddress, Model, ObjectName, TenantName


def is_prime(number: int) -> bool:
    """Maglev table sizes must be prime (shared with bpf.maglev and `gslb l4`)."""
    if number < 2:
        return False
    divisor = 2
    while divisor * divisor <= number:
        if number % divisor == 0:
            return False
        divisor += 1
    return True


class RealSpec(Model):
    address: IPAddress
    weight: int = Field(100, ge=0, le=65535, description="0 drains: no new flows, existing flows stay")
    health_check: ObjectName | None = None
    port: int | None = Field(
        None, ge=1, le=65535, description="L4 proxy mode only: the real's port (default: the VIP's port)"
    )


class VipSpec(Model):
    tenant: TenantName
    name: ObjectName
    address: IPAddress
    port: int = Field(ge=0, le=65535, description="0 matches every port")
    protocol: Literal["tcp", "udp"] = "tcp"
    forwarding: Literal["ipip", "l2"] = Field(
        "ipip", description="direct server return by IP-in-IP encapsulation, or by MAC rewrite (same L2)"
    )
    reals: tuple[RealSpec, ...] = Field(min_length=1, max_length=4096)
    maglev_table_size: int = Field(65537, ge=251, le=1_048_573, description="a prime, >= 100x reals")
    proxy_protocol: bool = Field(
        False, description="L4 proxy mode only: send a PROXY protocol v2 header to the reals"
    )

    @model_validator(mode="after")
    def _coherent(self) -> VipSpec:
        problems = []
        if not is_prime(self.maglev_table_size):
            problems.append(f"maglev_table_size {self.maglev_table_size} is not prime (try 65537)")
        if self.forwarding == "l2":
            for real in self.reals:
                if real.address.version != self.address.version:
                    problems.append(
                        f"real {real.address} and VIP {self.address} differ in IP version; "
                        "l2 forwarding needs the same family"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def doc_name(self) -> str:
        return f"{self.tenant}/{self.name}"
