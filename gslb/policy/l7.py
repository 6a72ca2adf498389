"""L7 routes (host + path + method) and the upstream pools they send requests to."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from gslb.policy.base import Model, ObjectName, Port, TenantName

HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"]
_HOST = re.compile(
    r"^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$"
)


_TOKEN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$"
HeaderName = Annotated[str, Field(pattern=_TOKEN, description="an HTTP header name")]
HeaderValue = Annotated[str, Field(max_length=4096, pattern=r"^[^\r\n\x00]*$")]


class HeaderRulesSpec(Model):
    """Header edits, applied in the order remove, set (replace or add), add (append)."""

    remove: tuple[HeaderName, ...] = ()
    set: dict[HeaderName, HeaderValue] = Field(default_factory=dict)
    add: dict[HeaderName, HeaderValue] = Field(default_factory=dict)


class TimeoutsSpec(Model):
    connect: float = Field(5.0, gt=0, le=300, description="seconds to connect to an upstream member")
    request: float = Field(60.0, gt=0, le=3600, description="seconds until the response headers")
    idle: float = Field(60.0, gt=0, le=86400, description="seconds without a byte either way, mid-exchange")
    tunnel_idle: float = Field(
        3600.0,
        gt=0,
        le=7 * 86400,
        description="seconds without a byte either way on a WebSocket (upgraded) connection",
    )


class RetrySpec(Model):
    attempts: int = Field(2, ge=0, le=10, description="extra tries after the first")
    budget_percent: float = Field(20.0, ge=0, le=100, description="retries at most this share of requests")
    min_per_second: float = Field(3.0, ge=0, le=10000, description="retries always allowed regardless")
    on_status: tuple[int, ...] = Field((502, 503, 504), description="statuses retried (idempotent only)")


class RateLimitSpec(Model):
    requests_per_second: float = Field(gt=0, le=10_000_000)
    burst: int = Field(ge=1, le=10_000_000)
    key: Literal["route", "client_address", "tenant"] = Field(
        "client_address", description="one bucket per client address, per route, or per tenant"
    )


class OutlierSpec(Model):
    consecutive_5xx: int = Field(5, ge=1, le=1000)
    consecutive_errors: int = Field(3, ge=1, le=1000, description="connect errors and resets")
    base_ejection: float = Field(10.0, gt=0, le=3600, description="seconds; doubles per ejection")
    max_ejection: float = Field(300.0, gt=0, le=86400)
    max_ejected_percent: int = Field(50, ge=0, le=100)


class RouteTlsSpec(Model):
    """The certificate the proxy presents for the route's hosts (chosen by SNI). Files on the proxy
    machines, PEM: the store holds the reference, never the private key."""

    cert_file: str = Field(min_length=1, max_length=4096, description="PEM certificate chain")
    key_file: str = Field(min_length=1, max_length=4096, description="PEM private key")


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
    sticky_cookie: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="cookie pinning a client to its member"
    )
    outlier: OutlierSpec = Field(default_factory=OutlierSpec)
    max_connections: int = Field(1024, ge=1, le=1_000_000, description="per member (circuit breaker)")
    max_pending: int = Field(1024, ge=0, le=1_000_000, description="requests waiting for a connection")
    keepalive: int = Field(64, ge=0, le=100_000, description="idle connections kept per member")

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
    rewrite_path: str | None = Field(
        None,
        max_length=2048,
        pattern=r"^[^\s]*$",
        description="replaces the matched prefix (prefix), the path (exact) or is a re.sub template (regex)",
    )
    request_headers: HeaderRulesSpec = Field(default_factory=HeaderRulesSpec)
    response_headers: HeaderRulesSpec = Field(default_factory=HeaderRulesSpec)
    timeouts: TimeoutsSpec = Field(default_factory=TimeoutsSpec)
    retries: RetrySpec = Field(default_factory=RetrySpec)
    rate_limit: RateLimitSpec | None = None
    max_body_bytes: int = Field(64 * 2**20, ge=0, le=2**40, description="larger requests get 413")
    redirect_https: bool = Field(False, description="answer plain-HTTP requests with 308 to https")
    tls: RouteTlsSpec | None = Field(None, description="certificate for these hosts on TLS listeners")
    websocket: bool = Field(True, description="pass WebSocket upgrades through")

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
                pattern = re.compile(self.path)
            except re.error as exc:
                raise ValueError(f"path regex does not compile: {exc}") from None
            if self.rewrite_path is not None:
                try:
                    pattern.sub(self.rewrite_path, "")  # checks group references against the pattern
                except (re.error, IndexError) as exc:
                    raise ValueError(f"rewrite_path is not a valid template for the regex: {exc}") from None
        elif self.rewrite_path is not None and not self.rewrite_path.startswith("/"):
            raise ValueError("rewrite_path must start with '/' (except as a regex template)")
        return self

    def doc_name(self) -> str:
        return f"{self.tenant}/{self.name}"
