"""Builders shared by the engine tests: small valid policies, clients, and DNS replies to decode."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from ipaddress import ip_address, ip_network
from typing import Any

import dns.message

from geodata.lookup import GeoInfo
from gslb.engine import ClientContext, DynamicAnswer, Snapshot, compile_policy
from gslb.engine.wire import encode_name
from gslb.policy import PolicySet, parse_document, validate

ZONE = "example.com."
Doc = tuple[str, dict[str, Any]]

BASE: tuple[Doc, ...] = (
    ("tenant", {"name": "acme"}),
    ("zone", {"name": ZONE, "tenant": "acme", "ttl": 300}),
    ("rrset", {"zone": ZONE, "name": "@", "type": "NS", "values": ["ns1.example.com.", "ns.example.net."]}),
    ("rrset", {"zone": ZONE, "name": "ns1", "type": "A", "values": ["192.0.2.53"]}),
    ("check", {"tenant": "acme", "name": "web", "type": "http", "port": 80}),
)

# Pool locations for `nearest`: Tokyo, Frankfurt, Ashburn (Virginia).
TOKYO = (35.68, 139.69)
FRANKFURT = (50.11, 8.68)
ASHBURN = (39.04, -77.49)


def policy(*docs: Doc, base: tuple[Doc, ...] = BASE, revision: int = 1, check: bool = True) -> PolicySet:
    built = PolicySet.from_specs(
        (parse_document(kind, body) for kind, body in (*base, *docs)), revision=revision
    )
    if check:
        assert validate(built) == [], validate(built)
    return built


def rrset(name: str, rdtype: str, values: list[Any] | None = None, **extra: Any) -> Doc:
    body: dict[str, Any] = {"zone": ZONE, "name": name, "type": rdtype, **extra}
    if values is not None:
        body["values"] = values
    return ("rrset", body)


def compiled(*docs: Doc, health: Mapping[str, bool] | None = None, **kwargs: Any) -> Snapshot:
    return compile_policy(policy(*docs, **kwargs), health or {})


def dynamic_answer(
    dynamic: dict[str, Any],
    *,
    rdtype: str = "A",
    values: list[str] | None = None,
    health: Mapping[str, bool] | None = None,
) -> DynamicAnswer:
    """The compiled answer of one dynamic record set www.example.com."""
    snapshot = compiled(rrset("www", rdtype, values, dynamic=dynamic), health=health)
    rdtype_code = {"A": 1, "AAAA": 28, "CNAME": 5}[rdtype]
    answer = snapshot.zones[ZONE].nodes["www." + ZONE].rrsets[rdtype_code]
    assert isinstance(answer, DynamicAnswer)
    return answer


def members(*addresses: str, check: str | None = "web", **extra: Any) -> list[dict[str, Any]]:
    return [
        {"value": address, **({"health_check": check} if check else {}), **extra} for address in addresses
    ]


def pool(*addresses: str, location: tuple[float, float] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"values": members(*addresses), **extra}
    if location is not None:
        body["location"] = {"latitude": location[0], "longitude": location[1]}
    return body


def geo(
    continent: str | None,
    country: str | None = None,
    subdivision: str | None = None,
    *,
    location: tuple[float, float] | None = None,
    prefix_len: int = 20,
    network: str = "203.0.112.0/20",
) -> GeoInfo:
    latitude, longitude = location if location is not None else (None, None)
    return GeoInfo(
        country, continent, subdivision, None, latitude, longitude, prefix_len, ip_network(network)
    )


def client(address: str, geo_info: GeoInfo | None = None, source_prefix: int | None = None) -> ClientContext:
    parsed = ip_address(address)
    prefix = source_prefix if source_prefix is not None else parsed.max_prefixlen
    return ClientContext(parsed, geo_info, prefix)


def reply(qname: str, qtype: int, answer_wire: bytes, count: int) -> dns.message.Message:
    """A whole DNS response around pre-encoded answers, parsed back by dnspython."""
    header = struct.pack("!HHHHHH", 0x1234, 0x8400, 1, count, 0, 0)
    question = encode_name(qname) + struct.pack("!HH", qtype, 1)
    return dns.message.from_wire(header + question + answer_wire)


def answer_texts(message: dns.message.Message) -> list[str]:
    """Every answer record as "name ttl IN TYPE rdata", in wire order."""
    return [line for rrset in message.answer for line in rrset.to_text().splitlines()]
