"""Anycast announcements: which prefix this node announces over BGP, and how, per service state.

Every string here ends up inside an ExaBGP command line, so the types are tight: communities and
next hops are parsed, never passed through, which keeps a newline or a stray keyword from ever
reaching ExaBGP.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from gslb.policy.base import IPAddress, IPNetwork, Model, ObjectName, TenantName

# RFC 1997, RFC 3765, RFC 7999, RFC 8326: the well-known communities, by the names routers print.
WELL_KNOWN_COMMUNITIES = {
    "no-export": "65535:65281",
    "no-advertise": "65535:65282",
    "no-export-subconfed": "65535:65283",
    "no-peer": "65535:65284",
    "blackhole": "65535:666",
    "graceful-shutdown": "65535:0",
}
# fullmatch and [0-9], never `$` and `\d`: `$` accepts a trailing newline and `\d` non-ASCII digits,
# and either would put a second line or a non-ASCII byte into an ExaBGP command.
_STANDARD = re.compile(r"([0-9]{1,5}):([0-9]{1,5})")
_LARGE = re.compile(r"([0-9]{1,10}):([0-9]{1,10}):([0-9]{1,10})")


def _community(value: str) -> str:
    """The canonical text of a community (no leading zeros), or ValueError saying what is allowed."""
    if value in WELL_KNOWN_COMMUNITIES:
        return value
    standard, large = _STANDARD.fullmatch(value), _LARGE.fullmatch(value)
    if standard and all(int(part) <= 0xFFFF for part in standard.groups()):
        return ":".join(str(int(part)) for part in standard.groups())
    if large and all(int(part) <= 0xFFFFFFFF for part in large.groups()):
        return ":".join(str(int(part)) for part in large.groups())
    raise ValueError(
        f"{value!r} is not a BGP community: use 'ASN:VALUE' (each 0-65535), a large community "
        f"'A:B:C' (each 0-4294967295), or one of {', '.join(sorted(WELL_KNOWN_COMMUNITIES))}"
    )


Community = Annotated[str, AfterValidator(_community)]


class RouteAttributes(Model):
    med: int | None = Field(None, ge=0, le=2**32 - 1)
    local_preference: int | None = Field(None, ge=0, le=2**32 - 1)
    communities: tuple[Community, ...] = Field((), max_length=32)
    as_path_prepend: int = Field(0, ge=0, le=16, description="times to prepend the local AS")


class AnycastStates(Model):
    up: RouteAttributes = RouteAttributes()
    draining: RouteAttributes = RouteAttributes(med=1000, as_path_prepend=3)
    disabled: RouteAttributes = RouteAttributes(med=2000, as_path_prepend=6)


class AnycastSpec(Model):
    tenant: TenantName
    name: ObjectName
    prefix: IPNetwork = Field(description="announced prefix; a /32 or /128 by default")
    service: Literal["dns", "vip"] = Field(description="what must be healthy for the announcement")
    vip: ObjectName | None = Field(None, description="the L4 VIP whose health drives it (service 'vip')")
    next_hop: IPAddress | Literal["self"] = "self"
    host_route: bool = Field(True, description="require a host route (/32, /128), as anycast services use")
    states: AnycastStates = AnycastStates()
    drain_seconds: float = Field(30.0, ge=0, le=3600, description="how long to stay less preferred")
    withdraw_when_disabled: bool = True

    @model_validator(mode="after")
    def _coherent(self) -> AnycastSpec:
        problems = []
        prefix, hop = self.prefix, self.next_hop
        if prefix.prefixlen == 0:
            problems.append(f"prefix {prefix} is a default route; announce the service prefix only")
        elif prefix.is_multicast or prefix.is_loopback or prefix.network_address.is_unspecified:
            problems.append(
                f"prefix {prefix} is not a unicast service prefix (multicast, loopback, unspecified)"
            )
        if hop != "self" and (hop.is_multicast or hop.is_loopback or hop.is_unspecified):
            problems.append(
                f"next_hop {hop} cannot forward traffic: use a unicast address of the node or 'self'"
            )
        if self.host_route and self.prefix.prefixlen != self.prefix.max_prefixlen:
            problems.append(
                f"prefix {self.prefix} is not a host route (/{self.prefix.max_prefixlen}); "
                "announce the service address itself, or set host_route: false"
            )
        if self.next_hop != "self" and self.next_hop.version != self.prefix.version:
            problems.append(
                f"next_hop {self.next_hop} is IPv{self.next_hop.version} but prefix is "
                f"IPv{self.prefix.version}"
            )
        if self.service == "vip" and self.vip is None:
            problems.append("service 'vip' needs 'vip' naming the L4 VIP it announces")
        if self.service == "dns" and self.vip is not None:
            problems.append("'vip' applies to service 'vip' only")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def doc_name(self) -> str:
        return f"{self.tenant}/{self.name}"
