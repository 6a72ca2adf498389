"""`gslb explain NAME TYPE --client IP [--ecs PREFIX]`: which rule, pool and members answer, and why."""

from __future__ import annotations

import argparse
import ipaddress
import random
from pathlib import Path
from typing import Any

import dns.rdatatype

from gslb.commands.common import EXIT_OK, UserFacingError, opened_store, store_settings
from gslb.engine.explain import Explanation, explain


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
    result = explain(snapshot, name, rdtype, address, source_prefix, geo, random.getrandbits(64))
    print(render(result))
    return EXIT_OK


def render(result: Explanation) -> str:
    """The human form of an explanation (what `gslb explain` prints)."""
    name = result.name
    if result.outcome == "refused":
        return f"{name}: in no hosted zone -> REFUSED"
    if result.outcome == "referral":
        return f"{name}: {result.reason} -> referral"
    if result.outcome == "nxdomain":
        return f"{name}: no such name in zone {result.zone} -> NXDOMAIN with SOA (negative TTL {result.ttl})"
    if result.outcome == "nodata":
        return f"{name}: no {result.type} data ({result.source}) -> NODATA with SOA"
    if result.outcome == "dynamic":
        rule = "none" if result.rule is None else str(result.rule)
        return "\n".join(
            [
                f"dynamic {result.type} ({result.source}), TTL {result.ttl}",
                f"  rule:    {rule}",
                f"  pool:    {result.pool or '-'}",
                f"  answer:  {', '.join(result.answer) or '(no data)'}",
                f"  ECS scope: /{result.scope_prefix}",
                f"  why:     {result.reason}",
            ]
        )
    return (
        f"static {result.type} ({result.source}), TTL {result.ttl}: {', '.join(result.answer)}\n"
        "  ECS scope: /0 (the same for every client)"
    )
