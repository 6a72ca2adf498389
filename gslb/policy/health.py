"""Health-check specs: how to probe a member, how often, and how many results flip its state."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import dns.exception
import dns.rdatatype
from pydantic import Field, field_validator, model_validator

from gslb.policy.base import DomainName, Model, ObjectName, Port, TenantName

Quorum = Literal["any", "majority", "all"]


class _CheckBase(Model):
    tenant: TenantName
    name: ObjectName
    port: Port | None = Field(None, description="probe port; null uses the type's default")
    interval: float = Field(10.0, gt=0, le=3600, description="seconds between probes")
    timeout: float = Field(2.0, gt=0, le=600, description="seconds before a probe counts as failed")
    rise: int = Field(2, ge=1, le=100, description="consecutive successes to become up")
    fall: int = Field(3, ge=1, le=100, description="consecutive failures to become down")
    quorum: Quorum | Annotated[int, Field(ge=1, le=64)] = Field(
        "majority", description="checker sites that must agree: any, majority, all, or at least N"
    )

    @model_validator(mode="after")
    def _timeout_fits_interval(self) -> _CheckBase:
        if self.interval < 0.05:
            raise ValueError("interval must be at least 0.05 seconds")
        if self.timeout > self.interval:
            raise ValueError(
                f"timeout ({self.timeout}s) is longer than interval ({self.interval}s); "
                "probes would overlap: lower the timeout or raise the interval"
            )
        return self

    def doc_name(self) -> str:
        return f"{self.tenant}/{self.name}"


class TcpCheck(_CheckBase):
    type: Literal["tcp"]
    port: Port = Field(description="TCP port to connect to")


_HTTP_METHODS = Literal["GET", "HEAD", "POST", "OPTIONS"]


class HttpCheck(_CheckBase):
    type: Literal["http", "https"]
    method: _HTTP_METHODS = "GET"
    path: str = Field("/", pattern=r"^/[^\s]*$", max_length=2048)
    host: str | None = Field(None, max_length=255, pattern=r"^[A-Za-z0-9.:\[\]_-]+$")
    headers: dict[str, str] = Field(default_factory=dict)
    expect_status: tuple[Annotated[int, Field(ge=100, le=599)], ...] = Field((200,), min_length=1)
    expect_body: str | None = Field(None, max_length=4096, description="substring the body must contain")
    expect_body_regex: str | None = Field(None, max_length=4096)
    tls_sni: str | None = Field(None, max_length=255)
    tls_verify: bool = True

    @field_validator("expect_body_regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"expect_body_regex does not compile: {exc}") from None
        return value

    @field_validator("headers")
    @classmethod
    def _header_safe(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not re.match(r"^[A-Za-z0-9-]{1,64}$", key) or "\r" in item or "\n" in item:
                raise ValueError(f"header {key!r}: names are letters, digits and '-', values one line")
        return value

    @model_validator(mode="after")
    def _tls_only_for_https(self) -> HttpCheck:
        if self.type == "http" and (self.tls_sni is not None or not self.tls_verify):
            raise ValueError("tls_sni and tls_verify apply to type 'https' only")
        return self


class DnsCheck(_CheckBase):
    type: Literal["dns"]
    query_name: DomainName
    query_type: str = Field("A", pattern=r"^[A-Z0-9]{1,10}$")

    @field_validator("query_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        try:
            dns.rdatatype.from_text(value)
        except dns.exception.DNSException:
            raise ValueError(
                f"unknown query type {value!r}; use a type name such as A, AAAA, TXT or SOA"
            ) from None
        return value

    transport: Literal["udp", "tcp"] = "udp"
    expect_rcode: Literal["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"] = "NOERROR"
    expect_answer: str | None = Field(None, max_length=1024, description="text one answer must equal")


class UdpCheck(_CheckBase):
    type: Literal["udp"]
    port: Port = Field(description="UDP port to send to")
    send: str = Field(min_length=1, max_length=1400, description="payload; hex when send_hex")
    send_hex: bool = False
    expect: str | None = Field(None, max_length=1400, description="substring the reply must contain")

    @model_validator(mode="after")
    def _hex_decodes(self) -> UdpCheck:
        if self.send_hex:
            try:
                bytes.fromhex(self.send)
            except ValueError:
                raise ValueError("send is not valid hex (send_hex is true)") from None
        return self


HealthCheckSpec = Annotated[TcpCheck | HttpCheck | DnsCheck | UdpCheck, Field(discriminator="type")]
HEALTH_CHECK_CLASSES: dict[str, type[_CheckBase]] = {
    "tcp": TcpCheck,
    "http": HttpCheck,
    "https": HttpCheck,
    "dns": DnsCheck,
    "udp": UdpCheck,
}
AnyHealthCheck = _CheckBase
DEFAULT_PORTS = {"http": 80, "https": 443, "dns": 53}
