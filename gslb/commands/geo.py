"""`gslb geo build|lookup`: make a .mmdb from CSV for tests and demos, and look addresses up."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gslb.commands.common import EXIT_OK, UserFacingError


def register(commands: argparse._SubParsersAction, add_store_options: object) -> None:
    geo = commands.add_parser("geo", help="GeoIP tools: build a .mmdb from CSV, look up an address")
    actions = geo.add_subparsers(dest="geo_command", metavar="ACTION", required=True)

    build = actions.add_parser(
        "build",
        help="build a MaxMind-format .mmdb from a CSV geography",
        description="CSV columns: network,continent,country,subdivision,city,latitude,longitude,asn,asn_org "
        "(only network is required). Every bad row is reported as FILE:LINE and nothing is written.",
    )
    build.add_argument("csv", type=Path, nargs="?", help="input CSV (default: the bundled demo geography)")
    build.add_argument("output", type=Path, help="the .mmdb file to write (atomically)")
    build.set_defaults(handler=_build)

    lookup = actions.add_parser(
        "lookup", help="print what a .mmdb (GeoLite2, DB-IP, IPinfo, ours) says of addresses"
    )
    lookup.add_argument("database", type=Path)
    lookup.add_argument("addresses", nargs="+")
    lookup.set_defaults(handler=_lookup)


def _build(args: argparse.Namespace) -> int:
    from geodata.build import build_mmdb_from_csv, demo_csv_path
    from geodata.errors import GeoDataError

    source = args.csv or demo_csv_path()
    try:
        count = build_mmdb_from_csv(source, args.output)
    except (GeoDataError, OSError) as exc:
        raise UserFacingError(str(exc)) from None
    print(f"wrote {args.output}: {count} networks from {source}")
    return EXIT_OK


def _lookup(args: argparse.Namespace) -> int:
    from geodata.errors import GeoDataError
    from geodata.lookup import GeoDatabase

    try:
        database = GeoDatabase.open(args.database)
    except GeoDataError as exc:
        raise UserFacingError(str(exc)) from None
    with database:
        for address in args.addresses:
            try:
                info = database.lookup(address)
            except ValueError as exc:
                raise UserFacingError(f"{address!r}: {exc}") from None
            record = (
                None
                if info is None
                else {
                    "network": str(info.network),
                    "prefix_len": info.prefix_len,
                    "continent": info.continent,
                    "country": info.country,
                    "subdivision": info.subdivision,
                    "asn": info.asn,
                    "latitude": info.latitude,
                    "longitude": info.longitude,
                }
            )
            print(json.dumps({"address": address, "geo": record}))
    return EXIT_OK
