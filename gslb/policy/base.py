"""Shared building blocks of the policy vocabulary: the frozen base model and the scalar types.

Every document users declare is a `Model`: immutable (so compiled snapshots can hold them without
copying) and strict about unknown fields (a typo must be an error, never silently ignored).
"""

from __future__ import annotations

import re
import sys
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

MAX_TTL = 2**31 - 1  # RFC 2181 section 8


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    # pydantic gives every instance its own set of the field names it was given: 216 bytes, a
    # quarter of a record set's memory when a node holds a million. Instances given the same
    # fields share one set instead. Safe because models are frozen and pydantic copies the set
    # before changing it (model_copy); a bounded intern table (one entry per combination of
    # fields actually used), not state that changes behaviour.
    _shared_fields_sets: ClassVar[dict[frozenset[str], set[str]]] = {}

    def model_post_init(self, context: Any, /) -> None:
        given = self.__pydantic_fields_set__
        shared = self._shared_fields_sets.setdefault(frozenset(given), given)
        if shared is not given:
            object.__setattr__(self, "__pydantic_fields_set__", shared)

    def to_body(self) -> dict:
        """The canonical JSON body stored for this document (defaults omitted for compact storage)."""
        return self.model_dump(mode="json", exclude_defaults=True)


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_LABEL = re.compile(r"^(?:\*|[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):  # fullmatch: `$` would accept a trailing newline
        raise ValueError(
            f"{value!r} is not a valid name: use 1-63 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    return value


def normalize_fqdn(value: str) -> str:
    """Lower-case, absolute (trailing dot) form of a domain name; raises ValueError saying what is wrong."""
    if not isinstance(value, str):
        raise ValueError("a domain name must be a string")
    name = value.strip().lower()
    if name in (".", ""):
        if name == ".":
            return "."
        raise ValueError("a domain name must not be empty")
    if not name.endswith("."):
        name += "."
    if len(name) > 254:  # 255 octets on the wire including the length bytes
        raise ValueError(f"{value!r} is longer than 253 characters")
    labels = name[:-1].split(".")
    for index, label in enumerate(labels):
        if not label:
            raise ValueError(f"{value!r} has an empty label (two dots in a row?)")
        if len(label) > 63:
            raise ValueError(f"{value!r}: label {label[:20]!r}... is longer than 63 characters")
        if not label.isascii():
            raise ValueError(f"{value!r}: use the IDNA (xn--) form for internationalised names")
        if not _LABEL.fullmatch(label):
            raise ValueError(
                f"{value!r}: label {label!r} may contain only letters, digits, '-' and '_' "
                "and must not start or end with '-'"
            )
        if label == "*" and index != 0:
            raise ValueError(f"{value!r}: '*' is only allowed as the leftmost label")
    # Interned: a zone's name is repeated in every one of its record sets (and targets repeat),
    # so a node holding a million record sets keeps one copy instead of a million.
    return sys.intern(name)


def _hostname(value: str) -> str:
    name = normalize_fqdn(value)
    if "*" in name:
        raise ValueError(f"{value!r}: a wildcard is not allowed here")
    return name


def is_subdomain(name: str, parent: str) -> bool:
    """True when absolute `name` equals `parent` or lies below it."""
    return parent == "." or name == parent or name.endswith("." + parent)


TenantName = Annotated[str, AfterValidator(_slug), Field(description="tenant slug, e.g. 'acme'")]
ObjectName = Annotated[str, AfterValidator(_slug), Field(description="object name unique within a tenant")]
PoolName = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$", description="pool name, unique within the record"),
]
DomainName = Annotated[str, AfterValidator(_hostname), Field(description="absolute domain name")]
Ttl = Annotated[int, Field(ge=0, le=MAX_TTL, description="time to live in seconds")]
Port = Annotated[int, Field(ge=1, le=65535)]


def _ip_network(value: object) -> object:
    if isinstance(value, IPv4Network | IPv6Network):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a network; write it as CIDR text such as '192.0.2.0/24'")
    try:
        return ip_network(value.strip(), strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            loose = ip_network(value.strip(), strict=False)
            raise ValueError(f"{value!r} has host bits set; did you mean {loose}?") from None
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 network in CIDR form") from None


def _ip_address(value: object) -> object:
    if isinstance(value, IPv4Address | IPv6Address):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an IP address; write it as text such as '192.0.2.1'")
    try:
        return ip_address(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None


IPNetwork = Annotated[IPv4Network | IPv6Network, BeforeValidator(_ip_network)]
IPAddress = Annotated[IPv4Address | IPv6Address, BeforeValidator(_ip_address)]
