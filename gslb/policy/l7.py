"""L7 routes (host + path + method) and the upstream pools they send requests to."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from gslb.policy.base import Model, ObjectName, Port, TenantName

HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"]
_HOST = re.compile(
    r"^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$"
)


class UpstreamMemberSpec(Model):
    address: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.:_-]+$")
    port: Port
    weight: int = Field(1, ge=1, le=1000)
    health_check: ObjectName | None = None


class UpstreamPoolSpec(Model):
    tenant: TenantName
    name: ObjectName
    algorithm: Literal["round_robin", "weighted", "least_connections", "consistent_hash"] = "round_robin"
    hash_on: str | None = Field(
        None,
        pattern=r"^(client_address|header:[A-Za-z0-9-]{1,64}|cookie:[A-Za-z0-9_-]{1,64})$",
        description="consistent_hash key: client_address, header:NAME or cookie:NAME",
    )
    members: tuple[UpstreamMemberSpec, ...] = Field(min_length=1, max_length=4096)
    tls: bool = Field(False, description="speak TLS to the upstream members")

    @model_validator(mode="after")
    def _hash_key(self) -> UpstreamPoolSpec:
        if self.algorithm == "consistent_hash" and self.hash_on is None:
            raise ValueError("algorithm consistent_hash needs hash_on")
        if self.algorithm != "consistent_hash" and self.hash_on is not None:
            raise ValueError("hash_on applies to algorithm consistent_hash only")
        return self

    def doc_name(self) -> str:
        return f"{self.tenant}/{self.name}"


class RouteSpec(Model):
    tenant: TenantName
    name: ObjectName
    hosts: tuple[str, ...] = Field(min_length=1, description="exact hosts or '*.example.com' wildcards")
    path: str = Field("/", pattern=r"^/[^\s]*$", max_length=2048)
    path_match: Literal["prefix", "exact", "regex"] = "prefix"
    methods: tuple[HttpMethod, ...] = Field((), description="empty matches every method")
    upstream: ObjectName = Field(description="upstream pool of the same tenant")
    priority: int = Field(0, ge=-1000, le=1000, description="higher wins when several routes match")

    @field_validator("hosts")
    @classmethod
    def _host_patterns(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        normalised = tuple(host.lower().rstrip(".") for host in hosts)
        for host in normalised:
            if not _HOST.match(host):
                raise ValueError(f"{host!r} is not a host name or '*.domain' wildcard")
        return normalised

    @model_validator(mode="after")
    def _regex_compiles(self) -> RouteSpec:
        if self.path_match == "regex":
            try:
                re.compile(self.path)
            except re.error as exc:
                raise ValueError(f"path regex does not compile: {exc}") from None
        return self

    def doc_name(self) -> str:
        return f"{self.tenant}/{self.name}"
