"""Building .mmdb files from CSV: the City-compatible output, and every bad row reported at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import maxminddb
import pytest

from geodata.build import build_mmdb_from_csv, demo_csv_path, main
from geodata.errors import CSVBuildError
from geodata.lookup import GeoDatabase

HEADER = "network,continent,country,subdivision,city,latitude,longitude,asn,asn_org\n"


def write_csv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "geo.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_demo_csv_ships_with_the_package() -> None:
    path = demo_csv_path()
    assert path.is_file()
    assert path.name == "demo.csv"
    assert path.parent.name == "demo"


def test_demo_builds_a_geolite2_city_compatible_file(demo_mmdb: Path) -> None:
    with maxminddb.open_database(str(demo_mmdb)) as reader:
        assert reader.metadata().database_type == "GSLB-City"
        assert reader.metadata().languages == ["en"]
        assert reader.get("127.0.4.7") == {
            "continent": {"code": "SA", "names": {"en": "South America"}},
            "country": {"iso_code": "BR"},
            "subdivisions": [{"iso_code": "SP"}],
            "city": {"names": {"en": "São Paulo"}},
            "location": {"latitude": -23.5505, "longitude": -46.6333},
            "autonomous_system_number": 64500,
            "autonomous_system_organization": "Demo São Paulo Net",
        }
        networks = {str(network) for network, _ in reader}
    assert len(networks) > 19  # the nested 10/8 is reported as the blocks around its subnets
    assert {"127.0.0.0/24", "2001:db8:3::/48", "10.2.3.0/24", "10.16.0.0/12"} <= networks
    # ::1 sits inside ::/96, the IPv4 space of an IPv6 tree, so readers list it as 0.0.0.1/32.
    assert "0.0.0.1/32" in networks


def test_build_returns_the_row_count(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path, "192.0.2.0/24,,US,,,,,,\n2001:db8::/32,,,,,,,,\n")
    assert build_mmdb_from_csv(csv_path, tmp_path / "out.mmdb") == 2


def test_optional_columns_and_derived_continent(tmp_path: Path) -> None:
    body = (
        "# comments and blank lines are skipped\n"
        "\n"
        "192.0.2.0/24,,fr,idf,Paris,48.8566,2.3522,AS64511,\n"
        "198.51.100.0/24,,,,,,,,\n"
        "203.0.113.0/24,oc,,,,,,,Only continent\n"
    )
    out = tmp_path / "out.mmdb"
    assert build_mmdb_from_csv(write_csv(tmp_path, body), out) == 3
    with GeoDatabase.open(out) as database:
        paris = database.lookup("192.0.2.1")
        assert paris is not None
        assert (paris.continent, paris.country, paris.subdivision, paris.asn) == ("EU", "FR", "IDF", 64511)
        bare = database.lookup("198.51.100.1")
        assert bare is not None
        assert (bare.country, bare.continent, bare.asn, bare.prefix_len) == (None, None, None, 24)
        oceania = database.lookup("203.0.113.1")
        assert oceania is not None
        assert (oceania.continent, oceania.country) == ("OC", None)
    with maxminddb.open_database(str(out)) as reader:
        assert reader.get("198.51.100.1") == {}
        assert reader.get("203.0.113.1") == {
            "continent": {"code": "OC", "names": {"en": "Oceania"}},
            "autonomous_system_organization": "Only continent",
        }


def test_columns_in_any_order_and_subset(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path, "JP,2001:db8::/32\n", header="country,network\n")
    out = tmp_path / "out.mmdb"
    assert build_mmdb_from_csv(csv_path, out) == 1
    with GeoDatabase.open(out) as database:
        info = database.lookup("2001:db8::1")
        assert info is not None
        assert (info.continent, info.country) == ("AS", "JP")


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    body = (
        "192.0.2.0/24,NA,US,CA,San Francisco,37.77,-122.42,64496,ok\n"  # line 2: fine
        "10.0.0.300/8,EU,DE,,,,,,\n"  # line 3
        "# a comment does not shift the numbering\n"  # line 4
        "10.1.2.3/16,EU,FR,,,,,,\n"  # line 5
        "10.2.0.0/16,EU,UX,,,,,,\n"  # line 6
        "10.3.0.0/16,EU,US,,,,,,\n"  # line 7
        "10.4.0.0/16,,,CA,,,,,\n"  # line 8
        "10.5.0.0/16,NA,US,CALI,,,,,\n"  # line 9
        "10.6.0.0/16,EU,DE,BE,Berlin,95.1,13.4,,\n"  # line 10
        "10.7.0.0/16,EU,DE,,,52.5,,,\n"  # line 11
        "10.8.0.0/16,EU,DE,,,north,east,,\n"  # line 12
        "10.9.0.0/16,EU,DE,,,,,sixty,\n"  # line 13
        "10.10.0.0/16,EU,DE,,,,,4294967296,\n"  # line 14
        "10.11.0.0/16,EU\n"  # line 15
        "192.0.2.0/24,NA,US,,,,,,\n"  # line 16
        ",EU,DE,,,,,,\n"  # line 17
        "10.12.0.0/16,XX,,,,,,,\n"  # line 18
    )
    csv_path = write_csv(tmp_path, body)
    out = tmp_path / "out.mmdb"
    with pytest.raises(CSVBuildError) as caught:
        build_mmdb_from_csv(csv_path, out)
    where = str(csv_path)
    assert caught.value.problems == (
        f"{where}:3: invalid network '10.0.0.300/8':"
        " '10.0.0.300/8' does not appear to be an IPv4 or IPv6 network",
        f"{where}:5: invalid network '10.1.2.3/16': 10.1.2.3/16 has host bits set; did you mean 10.1.0.0/16?",
        f"{where}:6: unknown country 'UX' — use ISO 3166-1 alpha-2 codes such as 'US'",
        f"{where}:7: country 'US' is in continent 'NA', not 'EU' — write 'NA-US'",
        f"{where}:8: subdivision 'CA' needs a country",
        f"{where}:9: invalid subdivision 'CALI' — use the ISO 3166-2 suffix of 1-3 letters or digits,"
        " such as 'CA' in 'NA-US-CA'",
        f"{where}:10: latitude 95.1 is out of range; use degrees in [-90, 90]",
        f"{where}:11: give both latitude and longitude, or neither",
        f"{where}:12: latitude 'north' is not a number; use decimal degrees such as 52.52",
        f"{where}:12: longitude 'east' is not a number; use decimal degrees such as 52.52",
        f"{where}:13: asn 'sixty' is not an AS number; use 0..4294967295 such as 64496",
        f"{where}:14: asn '4294967296' is not an AS number; use 0..4294967295 such as 64496",
        f"{where}:15: has 2 fields but the header has 9",
        f"{where}:16: duplicate network 192.0.2.0/24 (first on line 2)",
        f"{where}:17: the network is blank; give a CIDR such as 192.0.2.0/24",
        f"{where}:18: unknown continent 'XX' in 'XX' — use one of AF, AN, AS, EU, NA, OC, SA",
    )
    message = str(caught.value)
    assert message.startswith("16 problems in the CSV; nothing was written\n")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [csv_path]  # no temporary file either


def test_failed_build_keeps_the_previous_file(tmp_path: Path) -> None:
    out = tmp_path / "geo.mmdb"
    good = write_csv(tmp_path, "192.0.2.0/24,NA,US,,,,,,\n")
    build_mmdb_from_csv(good, out)
    before = out.read_bytes()
    bad = write_csv(tmp_path, "192.0.2.0/24,EU,US,,,,,,\n")
    with pytest.raises(CSVBuildError):
        build_mmdb_from_csv(bad, out)
    assert out.read_bytes() == before


def test_header_problems(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path, "192.0.2.0/24,US\n", header="prefix,contry\n")
    with pytest.raises(CSVBuildError) as caught:
        build_mmdb_from_csv(csv_path, tmp_path / "out.mmdb")
    columns = "network,continent,country,subdivision,city,latitude,longitude,asn,asn_org"
    assert caught.value.problems == (
        f"{csv_path}:1: unknown column 'prefix'; the columns are {columns}",
        f"{csv_path}:1: unknown column 'contry'; the columns are {columns}",
        f"{csv_path}:1: the header has no 'network' column; the columns are {columns}",
        f"{csv_path}:2: the network is blank; give a CIDR such as 192.0.2.0/24",
    )


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = write_csv(tmp_path, "", header="")
    with pytest.raises(CSVBuildError, match="the file is empty; the first line must be a header"):
        build_mmdb_from_csv(empty, tmp_path / "out.mmdb")
    missing = tmp_path / "missing.csv"
    with pytest.raises(CSVBuildError) as caught:
        build_mmdb_from_csv(missing, tmp_path / "out.mmdb")
    assert caught.value.problems == (f"{missing}: cannot read the CSV: No such file or directory",)
    assert str(caught.value).startswith("1 problem in the CSV; nothing was written")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER.encode() + "192.0.2.0/24,SA,BR,SP,S\xe3o Paulo,,,,\n".encode("latin-1"))
    with pytest.raises(CSVBuildError, match="not a UTF-8 CSV file"):
        build_mmdb_from_csv(path, tmp_path / "out.mmdb")


def test_main_success_and_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo.mmdb"
    assert main([str(demo_csv_path()), str(out)]) == 0
    assert capsys.readouterr().out == f"wrote 19 networks to {out}\n"
    assert out.is_file()
    bad = write_csv(tmp_path, "192.0.2.0/24,EU,US,,,,,,\n")
    bad_out = tmp_path / "bad.mmdb"
    assert main([str(bad), str(bad_out), "--record-size", "24"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{bad}:2: country 'US' is in continent 'NA', not 'EU'" in captured.err
    assert not bad_out.exists()


def test_python_dash_m(tmp_path: Path) -> None:
    out = tmp_path / "cli.mmdb"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "geodata.build",
            str(demo_csv_path()),
            str(out),
            "--database-type",
            "Demo-CLI",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with GeoDatabase.open(out) as database:
        assert database.database_type == "Demo-CLI"
        info = database.lookup("127.0.3.3")
        assert info is not None
        assert info.country == "AU"
