"""GeoDatabase lookups: the demo geography, and the MaxMind / DB-IP / IPinfo / ASN schemas."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geodata.errors import GeoAddressError, GeoDatabaseError
from geodata.lookup import GeoDatabase, GeoInfo
from geodata.mmdb_writer import MMDBWriter


@pytest.fixture(scope="module")
def demo(demo_mmdb: Path) -> Iterator[GeoDatabase]:
    with GeoDatabase.open(demo_mmdb) as database:
        yield database


def single_record_db(tmp_path: Path, record: dict[str, Any], *, ip_version: int = 6) -> GeoDatabase:
    writer = MMDBWriter(ip_version=ip_version, database_type="Schema-Test", build_epoch=1_700_000_000)
    writer.insert("192.0.2.0/24", record)
    if ip_version == 6:
        writer.insert("2001:db8::/32", record)
    path = tmp_path / "schema.mmdb"
    writer.write(path)
    return GeoDatabase.open(path)


# (address, country, continent, subdivision, asn, latitude, longitude, network)
DEMO_EXPECTATIONS = [
    ("127.0.0.1", "US", "NA", "CA", 64496, 37.7749, -122.4194, "127.0.0.0/24"),
    ("127.0.1.200", "DE", "EU", "BE", 64497, 52.52, 13.405, "127.0.1.0/24"),
    ("127.0.2.1", "JP", "AS", "13", 64498, 35.6762, 139.6503, "127.0.2.0/24"),
    ("127.0.3.1", "AU", "OC", "NSW", 64499, -33.8688, 151.2093, "127.0.3.0/24"),
    ("127.0.4.1", "BR", "SA", "SP", 64500, -23.5505, -46.6333, "127.0.4.0/24"),
    ("127.0.5.1", "ZA", "AF", "GT", 64501, -26.2041, 28.0473, "127.0.5.0/24"),
    ("127.0.6.1", "GB", "EU", "ENG", 64502, 51.5074, -0.1278, "127.0.6.0/24"),
    ("127.0.7.255", "CA", "NA", "ON", 64503, 43.6532, -79.3832, "127.0.7.0/24"),
    ("192.0.2.10", "US", "NA", "VA", 64504, 39.0438, -77.4874, "192.0.2.0/24"),
    ("198.51.100.10", "DE", "EU", "HE", 64505, 50.1109, 8.6821, "198.51.100.0/24"),
    ("203.0.113.10", "JP", "AS", "27", 64506, 34.6937, 135.5023, "203.0.113.0/24"),
    # Nested prefixes in 10.0.0.0/8: the reported network is the largest block with one answer.
    ("10.0.0.1", "NL", "EU", "NH", 64507, 52.3676, 4.9041, "10.0.0.0/16"),
    ("10.200.0.1", "NL", "EU", "NH", 64507, 52.3676, 4.9041, "10.128.0.0/9"),
    ("10.1.2.3", "FR", "EU", "IDF", 64508, 48.8566, 2.3522, "10.1.0.0/16"),
    ("10.2.3.4", "IT", "EU", "25", 64509, 45.4642, 9.19, "10.2.3.0/24"),
    ("10.2.4.4", "NL", "EU", "NH", 64507, 52.3676, 4.9041, "10.2.4.0/22"),
    ("10.31.255.255", "ES", "EU", "MD", 64510, 40.4168, -3.7038, "10.16.0.0/12"),
    ("2001:db8:1::1", "US", "NA", "VA", 64504, 39.0438, -77.4874, "2001:db8:1::/48"),
    ("2001:db8:2:ffff::1", "DE", "EU", "HE", 64505, 50.1109, 8.6821, "2001:db8:2::/48"),
    ("2001:db8:3::53", "JP", "AS", "13", 64498, 35.6762, 139.6503, "2001:db8:3::/48"),
    ("::1", "US", "NA", "CA", 64496, 37.7749, -122.4194, "::1/128"),
]


@pytest.mark.parametrize(
    ("address", "country", "continent", "subdivision", "asn", "latitude", "longitude", "network"),
    DEMO_EXPECTATIONS,
)
def test_demo_geography(
    demo: GeoDatabase,
    address: str,
    country: str,
    continent: str,
    subdivision: str,
    asn: int,
    latitude: float,
    longitude: float,
    network: str,
) -> None:
    expected_network = ipaddress.ip_network(network)
    assert demo.lookup(address) == GeoInfo(
        country=country,
        continent=continent,
        subdivision=subdivision,
        asn=asn,
        latitude=latitude,
        longitude=longitude,
        prefix_len=expected_network.prefixlen,
        network=expected_network,
    )


@pytest.mark.parametrize(
    "address", ["127.0.8.1", "127.255.255.254", "8.8.8.8", "2001:db8:4::1", "2001:db9::1"]
)
def test_addresses_outside_the_demo_are_unknown(demo: GeoDatabase, address: str) -> None:
    assert demo.lookup(address) is None


def test_ipv4_prefix_len_is_in_ipv4_terms(demo: GeoDatabase) -> None:
    # The file is an IPv6 tree where IPv4 sits 96 levels down; callers must see 0..32.
    info = demo.lookup("10.2.3.4")
    assert info is not None
    assert info.prefix_len == 24
    assert isinstance(info.network, ipaddress.IPv4Network)


@pytest.mark.parametrize(
    "address",
    ["::ffff:127.0.1.9", ipaddress.IPv6Address("::ffff:127.0.1.9"), ipaddress.IPv4Address("127.0.1.9")],
)
def test_ipv4_mapped_and_address_objects(demo: GeoDatabase, address: Any) -> None:
    info = demo.lookup(address)
    assert info is not None
    assert (info.country, info.subdivision) == ("DE", "BE")
    assert info.prefix_len == 24
    assert info.network == ipaddress.IPv4Network("127.0.1.0/24")


def test_ipv6_address_object(demo: GeoDatabase) -> None:
    info = demo.lookup(ipaddress.IPv6Address("2001:db8:3::1"))
    assert info is not None
    assert (info.country, info.prefix_len) == ("JP", 48)


def test_geo_keys_for_rule_matching(demo: GeoDatabase) -> None:
    info = demo.lookup("127.0.6.1")
    assert info is not None
    assert info.geo_keys == ("EU-GB-ENG", "EU-GB", "EU")


def test_metadata_properties(demo: GeoDatabase, demo_mmdb: Path) -> None:
    assert demo.database_type == "GSLB-City"
    assert demo.ip_version == 6
    assert demo.build_epoch == 1_700_000_000
    assert demo.path == str(demo_mmdb)
    assert repr(demo) == f"GeoDatabase({str(demo_mmdb)!r}, type='GSLB-City')"


@pytest.mark.parametrize("bad", ["1.2.3", "banana", "", "2001:db8::1::2", "300.1.1.1"])
def test_bad_address_text(demo: GeoDatabase, bad: str) -> None:
    with pytest.raises(GeoAddressError, match=r"is not an IP address; pass text such as '192\.0\.2\.1'"):
        demo.lookup(bad)


def test_zone_of_a_link_local_address_is_ignored(demo: GeoDatabase) -> None:
    assert demo.lookup("fe80::1%eth0") is None
    info = demo.lookup("::1%lo")
    assert info is not None
    assert info.country == "US"


def test_bad_address_type(demo: GeoDatabase) -> None:
    with pytest.raises(GeoAddressError, match=r"cannot look up 3232235777 \(int\)"):
        demo.lookup(3232235777)  # type: ignore[arg-type]
    assert issubclass(GeoAddressError, ValueError)


def test_memoised_lookups_return_the_same_answer(demo_mmdb: Path) -> None:
    with GeoDatabase.open(demo_mmdb, cache_size=2) as database:
        first = database.lookup("127.0.2.1")
        assert database.lookup("127.0.2.1") is first
        # Going past the bound starts over without losing correctness.
        for address in ["127.0.3.1", "127.0.4.1", "127.0.8.1", "127.0.8.1", "127.0.2.1"]:
            database.lookup(address)
        assert database.lookup("127.0.2.1") == first
        assert database.lookup("127.0.8.1") is None
    with GeoDatabase.open(demo_mmdb, cache_size=0) as uncached:
        assert uncached.lookup("127.0.2.1") == first
        assert uncached.lookup("127.0.2.1") is not uncached.lookup("127.0.2.1")


def test_closed_database(demo_mmdb: Path) -> None:
    database = GeoDatabase.open(demo_mmdb)
    assert database.lookup("127.0.0.1") is not None
    database.close()
    with pytest.raises(GeoDatabaseError, match=r"GeoIP database .*demo\.mmdb is closed"):
        database.lookup("127.0.0.1")  # memoised before close, still refused after


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mmdb"
    with pytest.raises(GeoDatabaseError) as caught:
        GeoDatabase.open(missing)
    assert str(caught.value).startswith(f"GeoIP database {missing} does not exist; point to a MaxMind")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(GeoDatabaseError, match=r"is a directory; point to the \.mmdb file inside it"):
        GeoDatabase.open(tmp_path)


@pytest.mark.parametrize(
    "content", [b"", b"not a database at all", b"\x00" * 4096], ids=["empty", "text", "zeros"]
)
def test_corrupt_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.mmdb"
    path.write_bytes(content)
    with pytest.raises(GeoDatabaseError) as caught:
        GeoDatabase.open(path)
    assert str(caught.value).startswith(f"{path} is not a valid MaxMind DB (.mmdb) file")


def test_truncated_file(tmp_path: Path, demo_mmdb: Path) -> None:
    path = tmp_path / "truncated.mmdb"
    path.write_bytes(demo_mmdb.read_bytes()[:1000])
    with pytest.raises(GeoDatabaseError, match="is not a valid MaxMind DB"):
        GeoDatabase.open(path)


# --- schemas of other database vendors, written with our writer ---------------------------------

MAXMIND_CITY = {
    "city": {"geoname_id": 5391959, "names": {"en": "San Francisco", "de": "San Francisco"}},
    "continent": {"code": "NA", "geoname_id": 6255149, "names": {"en": "North America"}},
    "country": {"geoname_id": 6252001, "iso_code": "US", "names": {"en": "United States"}},
    "location": {
        "accuracy_radius": 10,
        "latitude": 37.7758,
        "longitude": -122.4128,
        "time_zone": "America/Los_Angeles",
    },
    "postal": {"code": "94103"},
    "registered_country": {"geoname_id": 6252001, "iso_code": "US", "names": {"en": "United States"}},
    "subdivisions": [{"geoname_id": 5332921, "iso_code": "CA", "names": {"en": "California"}}],
}


def test_maxmind_city(tmp_path: Path) -> None:
    with single_record_db(tmp_path, MAXMIND_CITY) as database:
        info = database.lookup("192.0.2.1")
        assert info is not None
        assert (info.country, info.continent, info.subdivision) == ("US", "NA", "CA")
        assert (info.latitude, info.longitude, info.asn) == (37.7758, -122.4128, None)
        assert (info.prefix_len, info.network) == (24, ipaddress.IPv4Network("192.0.2.0/24"))
        info6 = database.lookup("2001:db8:ffff::1")
        assert info6 is not None
        assert (info6.country, info6.prefix_len) == ("US", 32)


def test_maxmind_country_falls_back_to_registered_country(tmp_path: Path) -> None:
    # Anycast and satellite ranges often carry only the registration country.
    record = {
        "continent": {"code": "EU", "names": {"en": "Europe"}},
        "registered_country": {"iso_code": "DE", "names": {"en": "Germany"}},
        "traits": {"is_anycast": True},
    }
    with single_record_db(tmp_path, record) as database:
        info = database.lookup("192.0.2.1")
        assert info is not None
        assert (info.country, info.continent, info.subdivision, info.latitude) == ("DE", "EU", None, None)


def test_continent_derived_when_absent(tmp_path: Path) -> None:
    with single_record_db(tmp_path, {"country": {"iso_code": "BR"}}) as database:
        info = database.lookup("192.0.2.1")
        assert info is not None
        assert (info.country, info.continent) == ("BR", "SA")


def test_dbip_lite_city(tmp_path: Path) -> None:
    # DB-IP lite follows the MaxMind layout (its docs: "stay as close as possible to their schema").
    record = {
        "city": {"names": {"en": "Frankfurt am Main"}},
        "continent": {"code": "EU", "geoname_id": 6255148, "names": {"en": "Europe"}},
        "country": {
            "geoname_id": 2921044,
            "is_in_european_union": True,
            "iso_code": "DE",
            "names": {"en": "Germany"},
        },
        "location": {"latitude": 50.1155, "longitude": 8.68417},
        "subdivisions": [{"names": {"en": "Hesse"}}],
    }
    with single_record_db(tmp_path, record) as database:
        info = database.lookup("192.0.2.1")
        assert info is not None
        # DB-IP lite subdivisions have names but no ISO code.
        assert (info.country, info.continent, info.subdivision) == ("DE", "EU", None)
        assert (info.latitude, info.longitude) == (50.1155, 8.68417)


def test_dbip_isp_traits_asn(tmp_path: Path) -> None:
    record = {
        "country": {"iso_code": "FR"},
        "traits": {"autonomous_system_number": 3215, "autonomous_system_organization": "Orange"},
    }
    with single_record_db(tmp_path, record) as database:
        info = database.lookup("192.0.2.1")
        assert info is not None
        assert (info.country, info.continent, info.asn) == ("FR", "EU", 3215)


def test_geolite2_asn(tmp_path: Path) -> None:
    record = {"autonomous_system_number": 15169, "autonomous_system_organization": "GOOGLE"}
    with single_record_db(tmp_path, record) as database:
        info = database.lookup("192.0.2.1")
        assert info == GeoInfo(None, None, None, 15169, None, None, 24, ipaddress.IPv4Network("192.0.2.0/24"))


def test_ipinfo_country_asn(tmp_path: Path) -> None:
    record = {
        "country": "JP",
        "country_name": "Japan",
        "continent": "AS",
        "continent_name": "Asia",
        "asn": "AS2519",
        "as_name": "ARTERIA Networks Corporation",
        "as_domain": "arteria-net.com",
    }
    with single_record_db(tmp_path, record) as database:
        info = database.lookup("192.0.2.1")
        assert info is not None
        assert (info.country, info.continent, info.asn, info.subdivision) == ("JP", "AS", 2519, None)


def test_ipinfo_lite(tmp_path: Path) -> None:
    # IPinfo Lite: "country" and "continent" are names, the codes have their own keys.
    record = {
        "country": "Canada",
        "country_code": "CA",
        "continent": "North America",
        "continent_code": "NA",
        "asn": "AS174",
        "as_name": "Cogent Communications",
        "as_domain": "cogentco.com",
    }
    with single_record_db(tmp_path, record) as database:
        info = database.lookup("2001:db8::1")
        assert info is not None
        assert (info.country, info.continent, info.asn, info.prefix_len) == ("CA", "NA", 174, 32)


def test_ipinfo_location_with_text_coordinates(tmp_path: Path) -> None:
    record = {
        "city": "Mountain View",
        "region": "California",
        "region_code": "CA",
        "country": "US",
        "lat": "37.4056",
        "lng": "-122.0775",
        "postal_code": "94043",
        "timezone": "America/Los_Angeles",
    }
    with single_record_db(tmp_path, record) as database:
        info = database.lookup("192.0.2.1")
        assert info is not None
        assert (info.country, info.continent, info.subdivision) == ("US", "NA", "CA")
        assert (info.latitude, info.longitude) == (37.4056, -122.0775)


def test_ipinfo_core_style(tmp_path: Path) -> None:
    record = {
        "country": "Germany",
        "country_code": "DE",
        "region_code": "DE-BE",
        "latitude": 52.52437,
        "longitude": 13.41053,
        "asn": 3320,
    }
    with single_record_db(tmp_path, record) as database:
        info = database.lookup("192.0.2.1")
        assert info is not None
        assert (info.country, info.continent, info.subdivision, info.asn) == ("DE", "EU", "BE", 3320)
        assert (info.latitude, info.longitude) == (52.52437, 13.41053)


def test_ipinfo_garbage_values_become_unknown(tmp_path: Path) -> None:
    record = {"country": "Atlantis", "lat": "north", "lng": True, "asn": "ASN-unknown"}
    with single_record_db(tmp_path, record) as database:
        info = database.lookup("192.0.2.1")
        assert info is not None
        assert (info.country, info.continent, info.asn, info.latitude, info.longitude) == (None,) * 5


def test_ipv4_only_database(tmp_path: Path) -> None:
    with single_record_db(tmp_path, {"country": {"iso_code": "KR"}}, ip_version=4) as database:
        assert database.ip_version == 4
        info = database.lookup("192.0.2.200")
        assert info is not None
        assert (info.country, info.continent, info.prefix_len) == ("KR", "AS", 24)
        mapped = database.lookup("::ffff:192.0.2.200")
        assert mapped == info
        assert database.lookup("2001:db8::1") is None
