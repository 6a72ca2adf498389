"""GeoIP lookups on MaxMind DB (.mmdb) files: MaxMind GeoIP2/GeoLite2, DB-IP and IPinfo.

`GeoDatabase.lookup` is on the DNS hot path. The reader's decode of a record costs 2.5-6.5 µs
(small to GeoLite2-City-sized records) and building the answer ~3 µs more, so answers are memoised
per queried address in a bounded per-database dict: DNS clients repeat (resolver addresses, ECS
subnets already truncated to /24 or /56), and a hit is one dict probe. Addresses of one network
share one GeoInfo, which keeps the memo small (~100 bytes per address instead of ~500). The file
never changes under an open reader (replacing it means opening a new GeoDatabase and swapping the
reference), so memoised answers cannot go stale.

IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4 client)
are looked up as the IPv4 address they carry, so `prefix_len` and `network` are IPv4 ones.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, cast

import maxminddb

from geodata.codes import CONTINENTS, COUNTRY_CONTINENTS, geo_keys
from geodata.errors import GeoAddressError, GeoDatabaseError

__all__ = ["Address", "GeoDatabase", "GeoDatabaseError", "GeoInfo"]

Address: TypeAlias = str | ipaddress.IPv4Address | ipaddress.IPv6Address
Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_CACHE_SIZE: Final = 65_536
_MISS: Final = object()  # memoised "not in the database"
_IPV4_MAPPED_TAG: Final = 0xFFFF  # bits 32..47 of ::ffff:a.b.c.d
_IPINFO_KEYS: Final = frozenset(
    {"asn", "country_code", "continent_code", "lat", "lng", "latitude", "region_code"}
)


@dataclass(frozen=True, slots=True)
class GeoInfo:
    """What a database says about one address; every field but the network may be unknown (None)."""

    country: str | None
    continent: str | None
    subdivision: str | None
    asn: int | None
    latitude: float | None
    longitude: float | None
    # Length of the matched network in the queried address's family (0..32 for IPv4): the ECS
    # scope a DNS answer based on this lookup may claim.
    prefix_len: int
    network: Network

    @property
    def geo_keys(self) -> tuple[str, ...]:
        """Geo strings this location matches, most specific first, e.g. ("NA-US-CA", "NA-US", "NA")."""
        return geo_keys(self.continent, self.country, self.subdivision)


class GeoDatabase:
    """An open .mmdb file. Use `GeoDatabase.open(path)`; close it (or use `with`) when done."""

    __slots__ = ("_by_network", "_cache", "_cache_size", "_ipv4_only", "_metadata", "_path", "_reader")

    def __init__(self, reader: Any, path: str, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._reader = reader
        self._path = path
        self._metadata = reader.metadata()
        self._ipv4_only = self._metadata.ip_version == 4
        self._cache: dict[Address, object] = {}  # address -> GeoInfo or _MISS
        self._by_network: dict[tuple[int, int, int], GeoInfo] = {}  # (version, start, prefix_len)
        self._cache_size = cache_size

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, cache_size: int = DEFAULT_CACHE_SIZE) -> GeoDatabase:
        """Open `path` memory-mapped; `cache_size` bounds the memoised lookups (0 disables them)."""
        name = os.fspath(path)
        if not os.path.exists(name):
            raise GeoDatabaseError(
                f"GeoIP database {name} does not exist; point to a MaxMind, DB-IP or IPinfo .mmdb file"
                f" or build one with `python -m geodata.build IN.csv {name}`"
            )
        if os.path.isdir(name):
            raise GeoDatabaseError(f"GeoIP database {name} is a directory; point to the .mmdb file inside it")
        try:
            reader = maxminddb.open_database(name, mode=maxminddb.MODE_AUTO)
        except OSError as exc:
            raise GeoDatabaseError(f"cannot open GeoIP database {name}: {exc.strerror or exc}") from exc
        except (maxminddb.InvalidDatabaseError, ValueError) as exc:
            raise GeoDatabaseError(
                f"{name} is not a valid MaxMind DB (.mmdb) file ({exc}); download it again or rebuild it"
            ) from exc
        return cls(reader, name, cache_size=cache_size)

    @property
    def path(self) -> str:
        return self._path

    @property
    def database_type(self) -> str:
        return str(self._metadata.database_type)

    @property
    def ip_version(self) -> int:
        return int(self._metadata.ip_version)

    @property
    def build_epoch(self) -> int:
        return int(self._metadata.build_epoch)

    def lookup(self, address: Address) -> GeoInfo | None:
        """Location of `address` (text, IPv4Address or IPv6Address); None when the database has none."""
        cache = self._cache
        hit = cache.get(address)
        if hit is not None:
            return None if hit is _MISS else cast(GeoInfo, hit)
        info = self._lookup(address)
        if self._cache_size:
            if len(cache) >= self._cache_size:
                # Dropping everything is O(1) amortised and needs no LRU bookkeeping per hit.
                cache.clear()
                self._by_network.clear()
            cache[address] = _MISS if info is None else info
        return info

    def close(self) -> None:
        self._cache = {}
        self._by_network = {}
        self._cache_size = 0
        self._reader.close()

    def __enter__(self) -> GeoDatabase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GeoDatabase({self._path!r}, type={self.database_type!r})"

    def _lookup(self, address: Address) -> GeoInfo | None:
        version, value, query = _parse_address(address)
        if version == 6 and value >> 32 == _IPV4_MAPPED_TAG:
            version, value = 4, value & 0xFFFF_FFFF
            query = ipaddress.IPv4Address(value)
        if version == 6 and self._ipv4_only:
            return None
        try:
            record, prefix_len = self._reader.get_with_prefix_len(query)
        except (ValueError, OSError) as exc:
            if getattr(self._reader, "closed", False):
                raise GeoDatabaseError(f"GeoIP database {self._path} is closed") from None
            raise GeoDatabaseError(f"lookup of {address} in {self._path} failed: {exc}") from exc
        except maxminddb.InvalidDatabaseError as exc:
            raise GeoDatabaseError(f"GeoIP database {self._path} is corrupt: {exc}") from exc
        if record is None:
            return None
        bits = 32 if version == 4 else 128
        if prefix_len > bits:
            # A reader counting the 96 bits above ::/96 for an IPv4 lookup in an IPv6 tree
            # (maxminddb 3.x counts from the IPv4 root already): strip them.
            prefix_len = max(0, prefix_len - 96)
        host_bits = bits - prefix_len
        start = value >> host_bits << host_bits
        key = (version, start, prefix_len)
        shared = self._by_network.get(key)
        if shared is not None:
            return shared
        network: Network = (
            ipaddress.IPv4Network((start, prefix_len))
            if version == 4
            else ipaddress.IPv6Network((start, prefix_len))
        )
        if isinstance(record, dict):
            info = _geo_info(record, prefix_len, network)
        else:
            info = GeoInfo(None, None, None, None, None, None, prefix_len, network)
        if self._cache_size:
            self._by_network[key] = info
        return info


def _parse_address(address: Address) -> tuple[int, int, Address]:
    """(IP version, address as int, what to ask the reader); inet_pton is ~10x faster than ipaddress."""
    if isinstance(address, str):
        try:
            if ":" in address:
                # Link-local peers come from recvfrom() as "fe80::1%eth0"; the zone is not geography.
                text = address.partition("%")[0] if "%" in address else address
                return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big"), text
            return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big"), address
        except (OSError, ValueError):
            raise GeoAddressError(
                f"{address!r} is not an IP address; pass text such as '192.0.2.1' or '2001:db8::1'"
            ) from None
    if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return address.version, int(address), address
    raise GeoAddressError(
        f"cannot look up {address!r} ({type(address).__name__}); pass text, IPv4Address or IPv6Address"
    )


def _geo_info(record: dict[str, Any], prefix_len: int, network: Network) -> GeoInfo:
    # IPinfo files are flat; MaxMind-style ones nest ("country": {"iso_code": ...}). None of the
    # _IPINFO_KEYS appears at the top level of a MaxMind-style record, so this cannot misroute one.
    if isinstance(record.get("country"), str) or not _IPINFO_KEYS.isdisjoint(record):
        return _ipinfo_info(record, prefix_len, network)
    return _maxmind_info(record, prefix_len, network)


def _maxmind_info(record: dict[str, Any], prefix_len: int, network: Network) -> GeoInfo:
    """MaxMind GeoIP2/GeoLite2 City, Country and ASN, DB-IP, and files built by geodata.build."""
    country = _str(_get(record, "country", "iso_code"))
    if country is None:
        country = _str(_get(record, "registered_country", "iso_code"))
    continent = _str(_get(record, "continent", "code"))
    if continent is None and country is not None:
        continent = COUNTRY_CONTINENTS.get(country)
    subdivision = None
    subdivisions = record.get("subdivisions")
    if isinstance(subdivisions, list) and subdivisions and isinstance(subdivisions[0], dict):
        subdivision = _str(subdivisions[0].get("iso_code"))
    asn_value = record.get("autonomous_system_number")
    if asn_value is None:
        asn_value = _get(record, "traits", "autonomous_system_number")
    return GeoInfo(
        country,
        continent,
        subdivision,
        _asn(asn_value),
        _float(_get(record, "location", "latitude")),
        _float(_get(record, "location", "longitude")),
        prefix_len,
        network,
    )


def _ipinfo_info(record: dict[str, Any], prefix_len: int, network: Network) -> GeoInfo:
    """IPinfo's flat schemas: country_asn ("country": "US"), Lite/Core ("country_code": "US",
    "country": "United States"), location ("lat"/"lng", sometimes as text)."""
    country = _str(record.get("country_code"))
    if country is None:
        candidate = record.get("country")
        if isinstance(candidate, str) and candidate in COUNTRY_CONTINENTS:
            country = candidate
    continent = _str(record.get("continent_code"))
    if continent is None:
        candidate = record.get("continent")
        # Older files hold the code here, newer ones the name ("Europe"), which we cannot use.
        continent = candidate if isinstance(candidate, str) and candidate in CONTINENTS else None
    if continent is None and country is not None:
        continent = COUNTRY_CONTINENTS.get(country)
    subdivision = _str(record.get("region_code"))
    if subdivision is not None and "-" in subdivision:
        subdivision = subdivision.rpartition("-")[2]  # "US-CA" -> "CA"
    latitude = record.get("latitude", record.get("lat"))
    longitude = record.get("longitude", record.get("lng"))
    return GeoInfo(
        country,
        continent,
        subdivision,
        _asn(record.get("asn")),
        _float(latitude),
        _float(longitude),
        prefix_len,
        network,
    )


def _get(record: dict[str, Any], outer: str, inner: str) -> Any:
    value = record.get(outer)
    return value.get(inner) if isinstance(value, dict) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _float(value: Any) -> float | None:
    if isinstance(value, float):
        return value
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _asn(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        digits = value[2:] if value[:2] in ("AS", "as") else value
        return int(digits) if digits.isdigit() else None
    return None
