"""Builders shared by the responder tests: a small hosted zone set, queries and decoded replies.

(Named test_dns_* only to stay in this package's naming lane; it holds no tests.)
"""

from __future__ import annotations

from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.rdatatype

from gslb.dns.responder import Responder
from gslb.engine import Snapshot, compile_policy
from gslb.policy import PolicySet, parse_document, validate

ZONE = "example.com."
OTHER = "example.org."
Doc = tuple[str, dict[str, Any]]


def rrset(name: str, rdtype: str, values: list[Any] | None = None, zone: str = ZONE, **extra: Any) -> Doc:
    body: dict[str, Any] = {"zone": zone, "name": name, "type": rdtype, **extra}
    if values is not None:
        body["values"] = values
    return ("rrset", body)


def _pool(*addresses: str) -> dict[str, Any]:
    return {"values": [{"value": address} for address in addresses]}


DOCS: tuple[Doc, ...] = (
    ("tenant", {"name": "acme"}),
    ("zone", {"name": ZONE, "tenant": "acme", "ttl": 300}),
    ("zone", {"name": OTHER, "tenant": "acme", "ttl": 300}),
    ("rrset", {"zone": ZONE, "name": "@", "type": "NS", "values": ["ns1.example.com.", "ns.example.net."]}),
    ("rrset", {"zone": OTHER, "name": "@", "type": "NS", "values": ["ns1.example.com."]}),
    (
        "rrset",
        {
            "zone": ZONE,
            "name": "@",
            "type": "SOA",
            "ttl": 3600,
            "values": [
                {
                    "mname": "ns1.example.com.",
                    "rname": "dns.example.com.",
                    "serial": 2024010101,
                    "minimum": 60,
                }
            ],
        },
    ),
    rrset("ns1", "A", ["192.0.2.53"]),
    rrset("www", "A", ["192.0.2.1", "192.0.2.2"]),
    rrset("www", "AAAA", ["2001:db8::1"]),
    rrset("alias", "CNAME", ["chain.example.com."]),
    rrset("chain", "CNAME", ["www.example.com."]),
    rrset("cross", "CNAME", ["app.example.org."]),
    rrset("app", "A", ["198.51.100.7"], zone=OTHER),
    rrset("gone", "CNAME", ["missing.example.org."]),
    rrset("outside", "CNAME", ["www.example.net."]),
    rrset("loop1", "CNAME", ["loop2.example.com."]),
    rrset("loop2", "CNAME", ["loop1.example.com."]),
    rrset("todyn", "CNAME", ["net.example.com."]),
    rrset("big", "TXT", [f"{index:02d}-" + "x" * 90 for index in range(8)]),
    rrset("huge", "TXT", [f"{index:03d}-" + "y" * 200 for index in range(40)]),
    rrset("*.wild", "A", ["192.0.2.9"]),
    rrset("*.wild", "TXT", ["wildcard"]),
    rrset("leaf.ent", "A", ["192.0.2.10"]),
    rrset("sub", "NS", ["ns.sub.example.com.", "ns.other.example."]),
    rrset("ns.sub", "A", ["192.0.2.54"]),
    rrset("sub", "DS", ["12345 13 2 " + "ab" * 32]),
    rrset(
        "net",
        "A",
        dynamic={
            "pools": {"office": _pool("192.0.2.101"), "rest": _pool("192.0.2.102")},
            "rules": [{"subnets": ["10.1.0.0/16"], "pool": "office"}, {"pool": "rest"}],
        },
    ),
    rrset(
        "geo",
        "A",
        dynamic={
            "pools": {
                "eu": _pool("192.0.2.201", "192.0.2.202"),
                "asia": _pool("192.0.2.203"),
                "us": _pool("192.0.2.204"),
            },
            "rules": [{"geos": ["EU"], "pool": "eu"}, {"geos": ["AS"], "pool": "asia"}, {"pool": "us"}],
        },
    ),
    rrset(
        "simple",
        "A",
        dynamic={"pools": {"all": _pool("192.0.2.151", "192.0.2.152")}, "rules": [{"pool": "all"}]},
    ),
    rrset(
        "closed",
        "A",
        dynamic={
            "pools": {"p": {"values": [{"value": "192.0.2.160", "status": "down"}]}},
            "rules": [{"pool": "p"}],
            "on_all_down": "fail_closed",
        },
    ),
)


def snapshot(*extra: Doc) -> Snapshot:
    policy = PolicySet.from_specs((parse_document(kind, body) for kind, body in (*DOCS, *extra)), revision=7)
    problems = validate(policy)
    assert problems == [], problems
    return compile_policy(policy, {})


SNAPSHOT = snapshot()


def responder(geo: Any = None, **kwargs: Any) -> Responder:
    return Responder(lambda: SNAPSHOT, geo=geo, random_bits=lambda: 0x0123_4567_89AB_CDEF, **kwargs)


def query(
    qname: str,
    rdtype: str = "A",
    *,
    use_edns: int | bool = False,
    payload: int = 1232,
    options: list[dns.edns.Option] | None = None,
    qid: int = 0x4242,
    want_dnssec: bool = False,
) -> bytes:
    message = dns.message.make_query(
        qname,
        rdtype,
        use_edns=use_edns,
        payload=payload,
        options=options,
        want_dnssec=want_dnssec,
    )
    message.id = qid
    return message.to_wire()


def ask(
    qname: str,
    rdtype: str = "A",
    *,
    client: str = "192.0.2.99",
    tcp: bool = False,
    resp: Responder | None = None,
    **kwargs: Any,
) -> dns.message.Message:
    raw = (resp or responder()).answer(query(qname, rdtype, **kwargs), client, tcp=tcp)
    assert raw is not None
    return dns.message.from_wire(raw)


def texts(section: list[Any]) -> list[str]:
    return [line for rrset in section for line in rrset.to_text().splitlines()]


def ecs_of(message: dns.message.Message) -> dns.edns.ECSOption:
    found = [option for option in message.options if option.otype == dns.edns.ECS]
    assert len(found) == 1
    option = found[0]
    assert isinstance(option, dns.edns.ECSOption)
    return option


__all__ = [
    "OTHER",
    "SNAPSHOT",
    "ZONE",
    "ask",
    "dns",
    "ecs_of",
    "query",
    "responder",
    "rrset",
    "snapshot",
    "texts",
]
