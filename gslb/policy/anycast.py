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

_WELL_KNOWN = {"no-export", "no-advertise", "no-export-subconfed", "blackhole", "graceful-shutdown"}
_STANDARD = re.compile(r"^(\d{1,5}):(\d{1,5})$")
_LARGE = re.compile(r"^(\d{1,10}):(\d{1,10}):(\d{1,10})$")


def _community(value: str) -> str:
    if value in _WELL_KNOWN:
        return value
    standard, large = _STANDARD.match(value), _LARGE.match(value)
    if standard and all(int(part) <= 0xFFFF for part in standard.groups()):
        return value
    if large and all(int(part) <= 0xFFFFFFFF for part in large.groups()):
        return value
    raise ValueError(
        f"{value!r} is not a BGP community: use 'ASN:VALUE' (each 0-65535), a large community "
        f"'A:B:C' (each 0-4294967295), or one of {', '.join(sorted(_WELL_KNOWN))}"
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
