"""`gslb explain NAME TYPE --client IP [--ecs PREFIX]`: which rule, pool and members answer, and why."""

from __future__ import annotations

import argparse
import ipaddress
import random
from pathlib import Path
from typing import Any

import dns.rdata
import dns.rdataclass
import dns.rdatatype

from gslb.commands.common import EXIT_OK, UserFacingError, opened_store, store_settings


def register(commands: argparse._SubParsersAction, add_store_options: Any) -> None:
    explain = commands.add_parser(
        "explain",
        help="show which rule, pool and members answer NAME TYPE for a client, and why",
        description="Compiles the store's policy with the current health states and runs the same "
        "selection the DNS server runs, printing each step.",
    )
    explain.add_argument("name", help="queried name, e.g. app.example.com")
    explain.add_argument("type", nargs="?", default="A", help="query type (default A)")
    explain.add_argument("--client", default="127.0.0.1", help="source address of the query")
    explain.add_argument("--ecs", help="EDNS Client Subnet the resolver sends, e.g. 198.51.100.0/24")
    explain.add_argument("--geoip", type=Path, help="MaxMind-format database locating the client")
    add_store_options(explain)
    explain.set_defaults(handler=_explain)


async def _explain(args: argparse.Namespace) -> int:
    from geodata.errors import GeoDataError
    from geodata.lookup import GeoDatabase
    from gslb.engine import ClientContext, DynamicAnswer, query_entropy, select
    from gslb.feed import SnapshotFeed

    name = args.name.lower().rstrip(".") + "."
    try:
        rdtype = dns.rdatatype.from_text(args.type.upper())
        client = ipaddress.ip_address(args.client)
        network = ipaddress.ip_network(args.ecs, strict=False) if args.ecs else None
    except ValueError as exc:
        raise UserFacingError(f"{exc}", 2) from None
    address = network.network_address if network is not None else client
    source_prefix = network.prefixlen if network is not None else address.max_prefixlen
    geo = None
    if args.geoip is not None:
        try:
            with GeoDatabase.open(args.geoip) as database:
                geo = database.lookup(address)
        except GeoDataError as exc:
            raise UserFacingError(str(exc)) from None

    async with opened_store(store_settings(args)) as store:
        feed = SnapshotFeed(store, block_ms=50)
        await feed.start()
        await feed.stop()
    snapshot = feed.snapshot
    print(f"revision {snapshot.revision}; client {address}/{source_prefix}", end="")
    print(
        f"; geo {geo.continent}-{geo.country}-{geo.subdivision} (network /{geo.prefix_len})"
        if geo
        else "; geo unknown" + ("" if args.geoip else " (no --geoip)")
    )
    zone = snapshot.find_zone(name)
    if zone is None:
        print(f"{name}: in no hosted zone -> REFUSED")
        return EXIT_OK
    cut = zone.delegation_for(name)
    if cut is not None and not (rdtype == dns.rdatatype.DS and cut.owner == name):
        print(f"{name}: below the delegation at {cut.owner} -> referral")
        return EXIT_OK
    node = zone.nodes.get(name)
    source = name
    if node is None:
        node = zone.wildcard_for(name)
        source = "wildcard"
    if node is None:
        print(
            f"{name}: no such name in zone {zone.name} -> NXDOMAIN with SOA "
            f"(negative TTL {zone.negative_ttl})"
        )
        return EXIT_OK
    answer = node.rrsets.get(rdtype) or node.rrsets.get(dns.rdatatype.CNAME)
    if answer is None:
        print(f"{name}: no {dns.rdatatype.to_text(rdtype)} data ({source}) -> NODATA with SOA")
        return EXIT_OK
    if isinstance(answer, DynamicAnswer):
        context = ClientContext(address, geo, source_prefix)
        selection = select(answer, context, query_entropy(answer, address, random.getrandbits(64)))
        rule = "none" if selection.rule_index is None else str(selection.rule_index)
        print(f"dynamic {_type_text(selection.rdtype)} ({source}), TTL {selection.ttl}")
        print(f"  rule:    {rule}")
        print(f"  pool:    {selection.pool or '-'}")
        print(f"  answer:  {', '.join(selection.members) or '(no data)'}")
        print(f"  ECS scope: /{selection.scope_prefix}")
        print(f"  why:     {selection.reason}")
        return EXIT_OK
    values = [
        dns.rdata.from_wire(
            dns.rdataclass.IN, dns.rdatatype.RdataType.make(answer.rdtype), rdata, 0, len(rdata)
        ).to_text()
        for rdata in answer.rdatas
    ]
    print(f"static {_type_text(answer.rdtype)} ({source}), TTL {answer.ttl}: {', '.join(values)}")
    print("  ECS scope: /0 (the same for every client)")
    return EXIT_OK


def _type_text(rdtype: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))
