"""Build a GeoLite2-City-compatible .mmdb from a small CSV geography: `python -m geodata.build IN OUT`.

CSV columns (header row required, any order, only `network` mandatory, blanks allowed):

    network,continent,country,subdivision,city,latitude,longitude,asn,asn_org

Blank lines and lines starting with "#" are ignored. A blank continent is derived from the country.
Every bad row is reported at once as "FILE:LINE: message" and nothing is written, so a file is
fixed in one pass and a half-built database never replaces a good one.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import ipaddress
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from geodata.codes import CONTINENTS, continent_of, parse_geo
from geodata.distance import GeoPoint
from geodata.errors import CSVBuildError, GeoCodeError, GeoDataError, GeoPointError
from geodata.mmdb_writer import MMDBWriter

__all__ = ["COLUMNS", "CSVBuildError", "build_mmdb_from_csv", "demo_csv_path", "main"]

COLUMNS = (
    "network",
    "continent",
    "country",
    "subdivision",
    "city",
    "latitude",
    "longitude",
    "asn",
    "asn_org",
)
DATABASE_TYPE = "GSLB-City"
_MAX_ASN = 0xFFFF_FFFF
_COUNTRY_HINT = "use ISO 3166-1 alpha-2 codes such as 'US'"


@dataclass(frozen=True, slots=True)
class _Row:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    record: dict[str, Any]


def demo_csv_path() -> Path:
    """The demo geography shipped with the package (loopback blocks placed around the world)."""
    return Path(str(files("geodata").joinpath("demo", "demo.csv")))


def build_mmdb_from_csv(
    csv_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    record_size: int = 28,
    database_type: str = DATABASE_TYPE,
    build_epoch: int | None = None,
) -> int:
    """Write the .mmdb for `csv_path` to `out_path` atomically; return the number of networks."""
    rows = _read_rows(Path(csv_path))
    writer = MMDBWriter(
        ip_version=6,
        record_size=record_size,
        database_type=database_type,
        languages=["en"],
        description={"en": f"gslb geography built from {Path(csv_path).name}"},
        build_epoch=build_epoch,
    )
    for row in rows:
        writer.insert(row.network, row.record)
    writer.write(out_path)
    return len(rows)


def _read_rows(path: Path) -> list[_Row]:
    problems: list[str] = []
    rows: list[_Row] = []
    first_line: dict[ipaddress.IPv4Network | ipaddress.IPv6Network, int] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = _data_lines(csv.reader(handle))
            header_line, header = next(lines, (0, []))
            columns = _check_header(header, f"{path}:{header_line or 1}", problems)
            for line, cells in lines:
                where = f"{path}:{line}"
                if len(cells) != len(header):
                    problems.append(f"{where}: has {len(cells)} fields but the header has {len(header)}")
                    continue
                fields = {name: cells[index].strip() for name, index in columns.items()}
                row = _parse_row(fields, where, problems)
                if row is None:
                    continue
                if row.network in first_line:
                    problems.append(
                        f"{where}: duplicate network {row.network} (first on line {first_line[row.network]})"
                    )
                    continue
                first_line[row.network] = line
                rows.append(row)
    except OSError as exc:
        raise CSVBuildError([f"{path}: cannot read the CSV: {exc.strerror or exc}"]) from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CSVBuildError([f"{path}: not a UTF-8 CSV file: {exc}"]) from exc
    if problems:
        raise CSVBuildError(problems)
    return rows


def _data_lines(reader: Any) -> Iterator[tuple[int, list[str]]]:
    for cells in reader:
        if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
            continue
        yield reader.line_num, cells


def _check_header(header: list[str], where: str, problems: list[str]) -> dict[str, int]:
    names = [name.strip().lower() for name in header]
    if not names:
        problems.append(f"{where}: the file is empty; the first line must be a header: {','.join(COLUMNS)}")
        return {}
    for name in names:
        if name not in COLUMNS:
            problems.append(f"{where}: unknown column {name!r}; the columns are {','.join(COLUMNS)}")
    if "network" not in names:
        problems.append(f"{where}: the header has no 'network' column; the columns are {','.join(COLUMNS)}")
    return {name: index for index, name in enumerate(names) if name in COLUMNS}


def _parse_row(fields: dict[str, str], where: str, problems: list[str]) -> _Row | None:
    before = len(problems)
    network = _parse_network(fields.get("network", ""), where, problems)
    record: dict[str, Any] = {}
    _add_geo(fields, record, where, problems)
    _add_location(fields, record, where, problems)
    _add_asn(fields, record, where, problems)
    city = fields.get("city")
    if city:
        record["city"] = {"names": {"en": city}}
    if network is None or len(problems) > before:
        return None
    return _Row(network, record)


def _parse_network(
    text: str, where: str, problems: list[str]
) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not text:
        problems.append(f"{where}: the network is blank; give a CIDR such as 192.0.2.0/24")
        return None
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = f"; did you mean {ipaddress.ip_network(text, strict=False)}?"
        problems.append(f"{where}: invalid network {text!r}: {exc}{hint}")
        return None


def _add_geo(fields: dict[str, str], record: dict[str, Any], where: str, problems: list[str]) -> None:
    continent = fields.get("continent", "").upper()
    country = fields.get("country", "").upper()
    subdivision = fields.get("subdivision", "").upper()
    if subdivision and not country:
        problems.append(f"{where}: subdivision {subdivision!r} needs a country")
        return
    if country and not continent:
        derived = continent_of(country)
        if derived is None:
            problems.append(f"{where}: unknown country {country!r} — {_COUNTRY_HINT}")
            return
        continent = derived
    if not continent:
        return
    try:
        geo = parse_geo("-".join(part for part in (continent, country, subdivision) if part))
    except GeoCodeError as exc:
        problems.append(f"{where}: {exc}")
        return
    record["continent"] = {"code": geo.continent, "names": {"en": CONTINENTS[geo.continent]}}
    if geo.country is not None:
        record["country"] = {"iso_code": geo.country}
    if geo.subdivision is not None:
        record["subdivisions"] = [{"iso_code": geo.subdivision}]


def _add_location(fields: dict[str, str], record: dict[str, Any], where: str, problems: list[str]) -> None:
    latitude_text = fields.get("latitude", "")
    longitude_text = fields.get("longitude", "")
    if not latitude_text and not longitude_text:
        return
    if not latitude_text or not longitude_text:
        problems.append(f"{where}: give both latitude and longitude, or neither")
        return
    numbers: list[float] = []
    for name, text in (("latitude", latitude_text), ("longitude", longitude_text)):
        try:
            numbers.append(float(text))
        except ValueError:
            problems.append(f"{where}: {name} {text!r} is not a number; use decimal degrees such as 52.52")
    if len(numbers) != 2:
        return
    try:
        point = GeoPoint(numbers[0], numbers[1])
    except GeoPointError as exc:
        problems.append(f"{where}: {exc}")
        return
    record["location"] = {"latitude": point.latitude, "longitude": point.longitude}


def _add_asn(fields: dict[str, str], record: dict[str, Any], where: str, problems: list[str]) -> None:
    text = fields.get("asn", "")
    if text:
        digits = text[2:] if text[:2].upper() == "AS" else text
        if not digits.isdigit() or int(digits) > _MAX_ASN:
            problems.append(f"{where}: asn {text!r} is not an AS number; use 0..{_MAX_ASN} such as 64496")
        else:
            record["autonomous_system_number"] = int(digits)
    organization = fields.get("asn_org", "")
    if organization:
        record["autonomous_system_organization"] = organization


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m geodata.build",
        description="Build a GeoLite2-City-compatible .mmdb from a CSV geography.",
        epilog=f"CSV columns: {','.join(COLUMNS)} (only network is required). Demo: {demo_csv_path()}",
    )
    parser.add_argument("csv", help="input CSV file")
    parser.add_argument("out", help="output .mmdb file (replaced atomically)")
    parser.add_argument("--record-size", type=int, choices=(24, 28, 32), default=28)
    parser.add_argument("--database-type", default=DATABASE_TYPE)
    args = parser.parse_args(argv)
    try:
        count = build_mmdb_from_csv(
            args.csv, args.out, record_size=args.record_size, database_type=args.database_type
        )
    except GeoDataError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"wrote {count} networks to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
