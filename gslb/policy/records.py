"""Record sets: one owner name and type in one zone, static values and optionally a dynamic policy.

One class per record type keeps the value types exact (an A value is an IPv4 address, an MX value
has a preference and an exchange) so structural errors point at the exact value that is wrong.
`parse_record_set` picks the class from `type` before validating, which keeps error locations
plain JSON pointers into the document (no union tags in the path).
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any, Literal

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from pydantic import AfterValidator, Field, TypeAdapter, ValidationInfo, field_validator

from gslb.policy.base import DomainName, Model, Ttl, normalize_fqdn
from gslb.policy.dynamic import DynamicSpec

APEX = "@"


def _relative_name(value: str) -> str:
    """Owner name relative to its zone: '@' for the apex, else labels without the zone suffix."""
    name = value.strip().lower()
    if name in ("", APEX):
        return APEX
    if name.endswith("."):
        raise ValueError(
            f"{value!r} is absolute; give the name relative to the zone (e.g. 'www'), or '@' for the apex"
        )
    normalize_fqdn(name + ".invalid.")  # label syntax, wildcard position
    return name


RelativeName = Annotated[
    str, AfterValidator(_relative_name), Field(description="owner relative to the zone; '@' is the apex")
]


class MxValue(Model):
    preference: int = Field(ge=0, le=65535)
    exchange: DomainName


class SrvValue(Model):
    priority: int = Field(ge=0, le=65535)
    weight: int = Field(ge=0, le=65535)
    port: int = Field(ge=0, le=65535)
    target: DomainName


class CaaValue(Model):
    flags: int = Field(0, ge=0, le=255)
    tag: str = Field(pattern=r"^[a-zA-Z0-9]{1,15}$")
    value: str = Field(max_length=4096)


class SoaValue(Model):
    mname: DomainName
    rname: DomainName = Field(description="mailbox as a name: hostmaster.example.com.")
    serial: int | None = Field(
        None, ge=0, le=2**32 - 1, description="null: the store revision, so secondaries see every change"
    )
    refresh: int = Field(3600, ge=0, le=2**31 - 1)
    retry: int = Field(600, ge=0, le=2**31 - 1)
    expire: int = Field(604800, ge=0, le=2**31 - 1)
    minimum: int = Field(300, ge=0, le=86400, description="negative-caching TTL (RFC 2308)")


TxtValue = Annotated[str, Field(max_length=65000)]


class _RecordSetBase(Model):
    zone: DomainName
    name: RelativeName = APEX
    ttl: Ttl | None = Field(None, description="null: the zone's default TTL")
    type: str  # narrowed to a Literal by every concrete class

    @property
    def is_dynamic(self) -> bool:
        return getattr(self, "dynamic", None) is not None

    def fqdn(self) -> str:
        return self.zone if self.name == APEX else f"{self.name}.{self.zone}"

    def doc_name(self) -> str:
        return record_set_doc_name(self.zone, self.name, self.type)


class ARecordSet(_RecordSetBase):
    type: Literal["A"]
    values: tuple[IPv4Address, ...] = ()
    dynamic: DynamicSpec | None = None


class AAAARecordSet(_RecordSetBase):
    type: Literal["AAAA"]
    values: tuple[IPv6Address, ...] = ()
    dynamic: DynamicSpec | None = None


class CNAMERecordSet(_RecordSetBase):
    type: Literal["CNAME"]
    values: tuple[DomainName, ...] = Field((), max_length=1)
    dynamic: DynamicSpec | None = None


class NSRecordSet(_RecordSetBase):
    type: Literal["NS"]
    values: tuple[DomainName, ...] = Field(min_length=1)


class PTRRecordSet(_RecordSetBase):
    type: Literal["PTR"]
    values: tuple[DomainName, ...] = Field(min_length=1)


class MXRecordSet(_RecordSetBase):
    type: Literal["MX"]
    values: tuple[MxValue, ...] = Field(min_length=1)


class TXTRecordSet(_RecordSetBase):
    type: Literal["TXT"]
    values: tuple[TxtValue, ...] = Field(min_length=1)


class SRVRecordSet(_RecordSetBase):
    type: Literal["SRV"]
    values: tuple[SrvValue, ...] = Field(min_length=1)


class CAARecordSet(_RecordSetBase):
    type: Literal["CAA"]
    values: tuple[CaaValue, ...] = Field(min_length=1)


class SOARecordSet(_RecordSetBase):
    type: Literal["SOA"]
    values: tuple[SoaValue, ...] = Field(min_length=1, max_length=1)


GENERIC_TYPES = ("DS", "TLSA", "SSHFP", "NAPTR", "SVCB", "HTTPS", "LOC", "SPF", "DNSKEY", "CDS", "URI")


def _presentation_rdata(rdtype: str, text: str) -> str:
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), text)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ValueError(f"not a valid {rdtype} value in zone-file syntax: {exc}") from None
    return str(rdata.to_text())


class GenericRecordSet(_RecordSetBase):
    """Types without special GSLB meaning, given in zone-file (RFC 1035 presentation) syntax."""

    type: Literal["DS", "TLSA", "SSHFP", "NAPTR", "SVCB", "HTTPS", "LOC", "SPF", "DNSKEY", "CDS", "URI"]
    values: tuple[str, ...] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _canonical_values(cls, values: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        rdtype = info.data.get("type")
        if rdtype is None:  # the type itself was invalid and is reported on its own
            return values
        canonical = []
        for index, text in enumerate(values):
            try:
                canonical.append(_presentation_rdata(rdtype, text))
            except ValueError as exc:
                # The whole tuple is validated here, so say which value is wrong.
                raise ValueError(f"value {index} ({text!r}): {exc}") from None
        return tuple(canonical)


RecordSet = Annotated[
    ARecordSet
    | AAAARecordSet
    | CNAMERecordSet
    | NSRecordSet
    | PTRRecordSet
    | MXRecordSet
    | TXTRecordSet
    | SRVRecordSet
    | CAARecordSet
    | SOARecordSet
    | GenericRecordSet,
    Field(discriminator="type"),
]

RECORD_SET_CLASSES: dict[str, type[_RecordSetBase]] = {
    "A": ARecordSet,
    "AAAA": AAAARecordSet,
    "CNAME": CNAMERecordSet,
    "NS": NSRecordSet,
    "PTR": PTRRecordSet,
    "MX": MXRecordSet,
    "TXT": TXTRecordSet,
    "SRV": SRVRecordSet,
    "CAA": CAARecordSet,
    "SOA": SOARecordSet,
    **{rdtype: GenericRecordSet for rdtype in GENERIC_TYPES},
}
DYNAMIC_TYPES = frozenset({"A", "AAAA", "CNAME"})
SUPPORTED_TYPES = tuple(RECORD_SET_CLASSES)

_TYPE_RE = re.compile(r"^[A-Za-z0-9]+$")


def record_set_doc_name(zone: str, name: str, rdtype: str) -> str:
    """Store name of a record set: unique across zones even at a delegation point shared by two zones."""
    return f"{zone}/{name}/{rdtype}"


def record_set_class(rdtype: Any) -> type[_RecordSetBase]:
    """The class for a record type, or ValueError naming the supported types."""
    key = rdtype.upper() if isinstance(rdtype, str) and _TYPE_RE.match(rdtype) else None
    if key is None or key not in RECORD_SET_CLASSES:
        raise ValueError(f"unsupported record type {rdtype!r}; supported: {', '.join(SUPPORTED_TYPES)}")
    return RECORD_SET_CLASSES[key]


RecordSetAdapter: TypeAdapter[Any] = TypeAdapter(RecordSet)
AnyRecordSet = _RecordSetBase
