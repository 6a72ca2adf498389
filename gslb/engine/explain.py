"""Why a client gets the answer it gets: the lookup the DNS server does, step by step, as data.

`gslb explain` prints an Explanation and the REST API returns it as JSON; both run this one function
over a compiled snapshot, so neither can drift from what the server answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Literal

import dns.rdata
import dns.rdataclass
import dns.rdatatype

from gslb.engine.dynamic import DynamicAnswer
from gslb.engine.select import ClientContext, GeoLike, query_entropy, select
from gslb.engine.snapshot import Snapshot

Outcome = Literal["refused", "referral", "nxdomain", "nodata", "dynamic", "static"]


@dataclass(frozen=True, slots=True)
class Explanation:
    name: str
    type: str
    revision: int
    client: str  # address/prefix the decision used
    outcome: Outcome
    zone: str | None = None
    source: str | None = None  # the owner name, or "wildcard"
    ttl: int | None = None
    rule: int | None = None
    pool: str | None = None
    answer: tuple[str, ...] = ()
    scope_prefix: int | None = None
    reason: str = ""


def type_text(rdtype: int) -> str:
    return str(dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype)))


def explain(
    snapshot: Snapshot,
    name: str,
    rdtype: int,
    address: IPv4Address | IPv6Address,
    source_prefix: int,
    geo: GeoLike | None,
    random_bits: int,
) -> Explanation:
    """Explain `name` (absolute, lower case) of `rdtype` for a client at `address`/`source_prefix`."""
    base: dict[str, Any] = {
        "name": name,
        "type": type_text(rdtype),
        "revision": snapshot.revision,
        "client": f"{address}/{source_prefix}",
    }
    zone = snapshot.find_zone(name)
    if zone is None:
        return Explanation(**base, outcome="refused", reason="the name is in no hosted zone")
    cut = zone.delegation_for(name)
    if cut is not None and not (rdtype == dns.rdatatype.DS and cut.owner == name):
        return Explanation(
            **base, outcome="referral", zone=zone.name, reason=f"below the delegation at {cut.owner}"
        )
    node = zone.nodes.get(name)
    source = name
    if node is None:
        node = zone.wildcard_for(name)
        source = "wildcard"
    if node is None:
        return Explanation(
            **base,
            outcome="nxdomain",
            zone=zone.name,
            ttl=zone.negative_ttl,
            reason=f"no such name in zone {zone.name}",
        )
    answer = node.rrsets.get(rdtype) or node.rrsets.get(dns.rdatatype.CNAME)
    if answer is None:
        return Explanation(
            **base,
            outcome="nodata",
            zone=zone.name,
            source=source,
            ttl=zone.negative_ttl,
            reason=f"no {type_text(rdtype)} data",
        )
    if isinstance(answer, DynamicAnswer):
        context = ClientContext(address, geo, source_prefix)
        selection = select(answer, context, query_entropy(answer, address, random_bits))
        return Explanation(
            **{**base, "type": type_text(selection.rdtype)},
            outcome="dynamic",
            zone=zone.name,
            source=source,
            ttl=selection.ttl,
            rule=selection.rule_index,
            pool=selection.pool,
            answer=tuple(selection.members),
            scope_prefix=selection.scope_prefix,
            reason=selection.reason,
        )
    values = tuple(
        dns.rdata.from_wire(
            dns.rdataclass.IN, dns.rdatatype.RdataType.make(answer.rdtype), rdata, 0, len(rdata)
        ).to_text()
        for rdata in answer.rdatas
    )
    return Explanation(
        **{**base, "type": type_text(answer.rdtype)},
        outcome="static",
        zone=zone.name,
        source=source,
        ttl=answer.ttl,
        answer=values,
        scope_prefix=0,
        reason="static data, the same for every client",
    )
