"""The MaxMind DB writer, checked through the real `maxminddb` readers (C extension and pure Python)."""

from __future__ import annotations

import ipaddress
import math
from pathlib import Path
from typing import Any

import maxminddb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata.mmdb_encoding import encode, encode_pointer
from geodata.mmdb_writer import METADATA_MARKER, MMDBWriteError, MMDBWriter

# Both readers: libmaxminddb (what production uses) is strict about the format, the pure-Python one
# is a second opinion.
READER_MODES = [
    pytest.param(maxminddb.MODE_MMAP_EXT, id="c-extension"),
    pytest.param(maxminddb.MODE_MMAP, id="pure-python"),
]

ALL_TYPES: dict[str, Any] = {
    "string": "Zürich ✓",
    "empty_string": "",
    "double": 52.52,
    "negative_double": -122.4194,
    "nan": math.nan,
    "infinity": -math.inf,
    "zero": 0,
    "uint16": 65_535,
    "uint32": 4_294_967_295,
    "uint64": 18_446_744_073_709_551_615,
    "uint128": (1 << 128) - 1,
    "int32_min": -(1 << 31),
    "minus_one": -1,
    "true": True,
    "false": False,
    "bytes": b"\x00\xff\x10",
    "array": [1, "two", 3.5, [False], {"nested": "map"}],
    "empty_array": [],
    "empty_map": {},
    "map": {"names": {"en": "Berlin", "de": "Berlin", "ja": "ベルリン"}},
    "tuple_is_array": (1, 2),
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory usable from hypothesis tests, which must not take function-scoped fixtures."""
    return tmp_path_factory.mktemp("mmdb")


def open_reader(path: Path, mode: int) -> Any:
    return maxminddb.open_database(str(path), mode)


def build(tmp_path: Path, writer: MMDBWriter, name: str = "test.mmdb") -> Path:
    path = tmp_path / name
    writer.write(path)
    return path


def write_bytes(content: bytes, directory: Path, name: str = "bytes.mmdb") -> str:
    path = directory / name
    path.write_bytes(content)
    return str(path)


def data_section_size(content: bytes, node_count: int, record_size: int) -> int:
    tree_size = node_count * record_size * 2 // 8
    return content.rfind(METADATA_MARKER) - tree_size - 16


def normalise(value: Any) -> Any:
    """The C reader returns bytearray for bytes, and both return lists for tuples; NaN != NaN."""
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(item) for item in value]
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


@pytest.mark.parametrize("mode", READER_MODES)
@pytest.mark.parametrize("record_size", [24, 28, 32])
@pytest.mark.parametrize("ip_version", [4, 6])
def test_all_types_round_trip(tmp_path: Path, mode: int, record_size: int, ip_version: int) -> None:
    writer = MMDBWriter(ip_version=ip_version, record_size=record_size, build_epoch=1_700_000_000)
    writer.insert("10.0.0.0/8", ALL_TYPES)
    writer.insert("192.0.2.0/24", {"other": 1})
    with open_reader(build(tmp_path, writer), mode) as reader:
        record, prefix_len = reader.get_with_prefix_len("10.20.30.40")
        assert normalise(record) == normalise(ALL_TYPES)
        assert prefix_len == 8
        assert reader.get_with_prefix_len("192.0.2.77") == ({"other": 1}, 24)
        assert reader.get("11.0.0.1") is None
        metadata = reader.metadata()
        assert metadata.ip_version == ip_version
        assert metadata.record_size == record_size
        assert metadata.node_count > 0


@pytest.mark.parametrize("mode", READER_MODES)
def test_metadata(tmp_path: Path, mode: int) -> None:
    writer = MMDBWriter(
        database_type="GSLB-Test",
        languages=["en", "de"],
        description={"en": "test db", "de": "Testdatenbank"},
        build_epoch=1_234_567_890,
    )
    writer.insert("2001:db8::/32", {"x": 1})
    with open_reader(build(tmp_path, writer), mode) as reader:
        metadata = reader.metadata()
        assert metadata.database_type == "GSLB-Test"
        assert metadata.languages == ["en", "de"]
        assert metadata.description == {"en": "test db", "de": "Testdatenbank"}
        assert metadata.build_epoch == 1_234_567_890
        assert metadata.binary_format_major_version == 2
        assert metadata.binary_format_minor_version == 0
        assert metadata.ip_version == 6
        assert metadata.record_size == 28


def test_default_description_and_build_epoch(tmp_path: Path) -> None:
    writer = MMDBWriter()
    writer.insert("192.0.2.0/24", {"x": 1})
    with open_reader(build(tmp_path, writer), maxminddb.MODE_MMAP_EXT) as reader:
        assert reader.metadata().description == {"en": "GSLB-Demo-City database written by gslb geodata"}
        assert reader.metadata().build_epoch > 1_600_000_000
        assert reader.metadata().database_type == "GSLB-Demo-City"


@pytest.mark.parametrize("mode", READER_MODES)
@pytest.mark.parametrize("record_size", [24, 28, 32])
def test_ipv4_and_ipv6_in_one_database(tmp_path: Path, mode: int, record_size: int) -> None:
    writer = MMDBWriter(record_size=record_size, build_epoch=1)
    writer.insert("10.1.0.0/16", {"v": "ten-one"})
    writer.insert("2001:db8:1::/48", {"v": "doc-one"})
    writer.insert(ipaddress.ip_network("2001:db8:2::/48"), {"v": "doc-two"})
    writer.insert("::1/128", {"v": "loopback"})
    with open_reader(build(tmp_path, writer), mode) as reader:
        assert reader.get_with_prefix_len("10.1.2.3") == ({"v": "ten-one"}, 16)
        assert reader.get_with_prefix_len(ipaddress.ip_address("10.1.2.3")) == ({"v": "ten-one"}, 16)
        assert reader.get_with_prefix_len("2001:db8:1:ffff::1") == ({"v": "doc-one"}, 48)
        assert reader.get_with_prefix_len("2001:db8:2::9") == ({"v": "doc-two"}, 48)
        assert reader.get_with_prefix_len("::1") == ({"v": "loopback"}, 128)
        assert reader.get("2001:db8:3::1") is None
        # IPv4 lives in ::/96 (IPv4-compatible), and the IPv4-mapped range leads to the same subtree.
        assert reader.get_with_prefix_len("::10.1.2.3") == ({"v": "ten-one"}, 112)
        assert reader.get_with_prefix_len("::ffff:10.1.2.3") == ({"v": "ten-one"}, 112)
        assert reader.get("::ffff:10.2.0.0") is None


@pytest.mark.parametrize("mode", READER_MODES)
def test_ipv4_mapped_alias_is_one_subtree_not_a_copy(tmp_path: Path, mode: int) -> None:
    writer = MMDBWriter(build_epoch=1)
    for third in range(64):
        writer.insert(f"198.51.{third}.0/24", {"n": third})
    small = build(tmp_path, writer, "aliased.mmdb")
    with open_reader(small, mode) as reader:
        node_count = reader.metadata().node_count
        assert reader.get("::ffff:198.51.17.1") == {"n": 17}
        # Networks iterate once: the alias is skipped, not reported as 64 more networks.
        assert len(list(reader)) == 64
    # 96 nodes down to ::/96; in IPv4, 18 down to 198.51.0.0/18 and 63 spreading to the 64 /24s;
    # 15 for ::ffff:0:0/96 branching off at bit 80 and pointing at the same IPv4 root.
    assert node_count == 96 + 18 + 63 + 15


@pytest.mark.parametrize("mode", READER_MODES)
def test_ipv4_mapped_networks_are_stored_as_ipv4(tmp_path: Path, mode: int) -> None:
    writer = MMDBWriter(build_epoch=1)
    writer.insert("::ffff:192.0.2.0/120", {"v": "mapped"})
    with open_reader(build(tmp_path, writer), mode) as reader:
        assert reader.get_with_prefix_len("192.0.2.1") == ({"v": "mapped"}, 24)
        assert reader.get_with_prefix_len("::ffff:192.0.2.1") == ({"v": "mapped"}, 120)


@pytest.mark.parametrize("mode", READER_MODES)
def test_ipv4_only_database(tmp_path: Path, mode: int) -> None:
    writer = MMDBWriter(ip_version=4, record_size=24, build_epoch=1)
    writer.insert("203.0.113.0/24", {"c": "JP"})
    writer.insert("203.0.113.128/25", {"c": "KR"})
    path = build(tmp_path, writer)
    with open_reader(path, mode) as reader:
        assert reader.metadata().ip_version == 4
        node_count = reader.metadata().node_count
        assert reader.get_with_prefix_len("203.0.113.1") == ({"c": "JP"}, 25)
        assert reader.get_with_prefix_len("203.0.113.200") == ({"c": "KR"}, 25)
        assert reader.get("203.0.112.1") is None
        with pytest.raises(ValueError, match="IPv6 address in an IPv4-only database"):
            reader.get("2001:db8::1")
    # 24 nodes down to 203.0.113.0/24 and one more for the /25 split.
    assert node_count == 25


def test_ipv6_network_into_ipv4_database_is_refused() -> None:
    writer = MMDBWriter(ip_version=4)
    with pytest.raises(MMDBWriteError) as caught:
        writer.insert("2001:db8::/32", {"x": 1})
    assert str(caught.value) == (
        "cannot insert IPv6 network 2001:db8::/32 into an ip_version=4 database; use MMDBWriter(ip_version=6)"
    )


OVERLAPPING = [
    ("10.0.0.0/8", {"n": "eight"}),
    ("10.1.0.0/16", {"n": "sixteen"}),
    ("10.1.2.0/24", {"n": "twenty-four"}),
    ("10.1.2.3/32", {"n": "host"}),
]


@pytest.mark.parametrize("mode", READER_MODES)
@pytest.mark.parametrize("order", ["general-first", "specific-first"])
def test_more_specific_wins_in_either_order(tmp_path: Path, mode: int, order: str) -> None:
    writer = MMDBWriter(build_epoch=1)
    inserts = OVERLAPPING if order == "general-first" else list(reversed(OVERLAPPING))
    for network, data in inserts:
        writer.insert(network, data)
    with open_reader(build(tmp_path, writer), mode) as reader:
        assert reader.get_with_prefix_len("10.1.2.3") == ({"n": "host"}, 32)
        assert reader.get_with_prefix_len("10.1.2.4") == ({"n": "twenty-four"}, 30)
        assert reader.get_with_prefix_len("10.1.3.1") == ({"n": "sixteen"}, 24)
        assert reader.get_with_prefix_len("10.1.128.1") == ({"n": "sixteen"}, 17)
        assert reader.get_with_prefix_len("10.0.0.1") == ({"n": "eight"}, 16)
        assert reader.get_with_prefix_len("10.200.0.1") == ({"n": "eight"}, 9)


def test_insertion_order_does_not_change_the_networks(tmp_path: Path) -> None:
    forward = MMDBWriter(build_epoch=1)
    backward = MMDBWriter(build_epoch=1)
    for network, data in OVERLAPPING:
        forward.insert(network, data)
    for network, data in reversed(OVERLAPPING):
        backward.insert(network, data)
    # Data offsets follow insertion order, so the bytes differ; what a reader sees must not.
    with open_reader(build(tmp_path, forward, "f.mmdb"), maxminddb.MODE_MMAP) as reader:
        forward_networks = list(reader)
    with open_reader(build(tmp_path, backward, "b.mmdb"), maxminddb.MODE_MMAP) as reader:
        backward_networks = list(reader)
    assert forward_networks == backward_networks
    assert (ipaddress.ip_network("10.1.2.3/32"), {"n": "host"}) in forward_networks
    assert (ipaddress.ip_network("10.128.0.0/9"), {"n": "eight"}) in forward_networks


@pytest.mark.parametrize("mode", READER_MODES)
def test_same_network_twice_last_wins(tmp_path: Path, mode: int) -> None:
    writer = MMDBWriter(build_epoch=1)
    writer.insert("192.0.2.0/24", {"v": "first"})
    writer.insert(ipaddress.ip_network("192.0.2.0/24"), {"v": "second"})
    assert len(writer) == 1
    with open_reader(build(tmp_path, writer), mode) as reader:
        assert reader.get("192.0.2.1") == {"v": "second"}


@pytest.mark.parametrize("mode", READER_MODES)
def test_whole_address_space(tmp_path: Path, mode: int) -> None:
    writer = MMDBWriter(build_epoch=1)
    writer.insert("::/0", {"v": "everywhere"})
    writer.insert("2001:db8::/32", {"v": "doc"})
    with open_reader(build(tmp_path, writer), mode) as reader:
        assert reader.get("2001:db8::1") == {"v": "doc"}
        assert reader.get("2606:4700::1") == {"v": "everywhere"}
        assert reader.get("192.0.2.1") == {"v": "everywhere"}
        assert reader.get("::ffff:192.0.2.1") == {"v": "everywhere"}


@pytest.mark.parametrize("mode", READER_MODES)
def test_empty_database(tmp_path: Path, mode: int) -> None:
    with open_reader(build(tmp_path, MMDBWriter(build_epoch=1)), mode) as reader:
        assert reader.get("192.0.2.1") is None
        assert reader.get("2001:db8::1") is None
        assert reader.metadata().node_count == 1


def test_identical_records_are_stored_once(tmp_path: Path) -> None:
    record = {"country": {"iso_code": "DE"}, "location": {"latitude": 52.52, "longitude": 13.405}}
    writer = MMDBWriter(build_epoch=1)
    for third in range(200):
        writer.insert(f"10.0.{third}.0/24", dict(record))
    content = writer.to_bytes()
    reader = maxminddb.open_database(write_bytes(content, tmp_path), maxminddb.MODE_MMAP_EXT)
    assert reader.get("10.0.199.1") == record
    node_count = reader.metadata().node_count
    reader.close()
    assert data_section_size(content, node_count, 28) == len(encode(record))


def test_repeated_sub_values_become_pointers(tmp_path: Path) -> None:
    continent = {
        "code": "EU",
        "geoname_id": 6255148,
        "names": {"en": "Europe", "de": "Europa", "fr": "Europe"},
    }
    writer = MMDBWriter(build_epoch=1)
    records = [{"continent": continent, "city": {"names": {"en": f"City {n}"}}} for n in range(50)]
    for n, record in enumerate(records):
        writer.insert(f"10.0.{n}.0/24", record)
    content = writer.to_bytes()
    path = write_bytes(content, tmp_path)
    for mode in (maxminddb.MODE_MMAP_EXT, maxminddb.MODE_MMAP):
        with maxminddb.open_database(path, mode) as reader:
            assert [reader.get(f"10.0.{n}.1") for n in range(50)] == records
            node_count = reader.metadata().node_count
    inline_size = sum(len(encode(record)) for record in records)
    assert data_section_size(content, node_count, 28) < inline_size // 2


@pytest.mark.parametrize("mode", READER_MODES)
def test_long_fields_and_far_pointers(tmp_path: Path, mode: int) -> None:
    """Size prefixes of 29/30/31 and all four pointer widths, through a data section > 600 KB."""
    writer = MMDBWriter(build_epoch=1)
    sizes = [28, 29, 284, 285, 65_820, 65_821, 70_000]
    for index, size in enumerate(sizes):
        writer.insert(f"10.{index}.0.0/16", {"blob": "x" * size, "many": {f"k{n}": n for n in range(300)}})
    filler = [{"filler": f"{n}" * 1000, "id": n} for n in range(600)]
    for n, record in enumerate(filler):
        writer.insert(f"172.16.{n // 256}.{n % 256}/32", record)
    # First seen beyond offset 526,336 (3-byte pointer range), then shared by later records.
    shared = {"shared": ["far", "away", 1.5]}
    for n in range(3):
        writer.insert(f"192.0.2.{n}/32", {"ref": shared, "n": n})
    with open_reader(build(tmp_path, writer), mode) as reader:
        for index, size in enumerate(sizes):
            record = reader.get(f"10.{index}.1.1")
            assert len(record["blob"]) == size
            assert record["many"]["k299"] == 299
        assert reader.get("172.16.2.87") == filler[599]
        for n in range(3):
            assert reader.get(f"192.0.2.{n}") == {"ref": shared, "n": n}


def test_pointer_encoding_widths() -> None:
    assert encode_pointer(0) == b"\x20\x00"
    assert encode_pointer(2047) == b"\x27\xff"
    assert encode_pointer(2048) == b"\x28\x00\x00"
    assert encode_pointer(526_335) == b"\x2f\xff\xff"
    assert encode_pointer(526_336) == b"\x30\x00\x00\x00"
    assert encode_pointer(134_744_063) == b"\x37\xff\xff\xff"
    assert encode_pointer(134_744_064) == b"\x38\x08\x08\x08\x00"
    with pytest.raises(MMDBWriteError, match="4 GiB"):
        encode_pointer(1 << 32)


def test_smallest_integer_types() -> None:
    assert encode(0) == b"\xa0"  # uint16, no payload
    assert encode(255) == b"\xa1\xff"
    assert encode(65_536) == b"\xc3\x01\x00\x00"  # uint32
    assert encode(1 << 32) == b"\x05\x02\x01\x00\x00\x00\x00"  # uint64 (extended type 9)
    assert encode(1 << 64)[:2] == b"\x09\x03"  # uint128 (extended type 10)
    assert encode(-1) == b"\x04\x01\xff\xff\xff\xff"  # int32, always 4 bytes
    assert encode(True) == b"\x01\x07"
    assert encode(1.0) == b"\x68\x3f\xf0\x00\x00\x00\x00\x00\x00"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"location": {"latitude": None}}, "unsupported value None (type NoneType) at location.latitude"),
        ({"tags": {"a", "b"}}, "unsupported value"),
        ({"list": [1, object()]}, "at list[1]"),
        ({"map": {1: "x"}}, "map key 1 at map must be a string, not int"),
        ({"big": 1 << 128}, "integer 340282366920938463463374607431768211456 at big does not fit uint128"),
        ({"neg": -(1 << 31) - 1}, "negative integer -2147483649 at neg does not fit int32"),
    ],
)
def test_unsupported_values_name_the_key(data: dict[str, Any], message: str) -> None:
    writer = MMDBWriter()
    with pytest.raises(MMDBWriteError) as caught:
        writer.insert("192.0.2.0/24", data)
    assert str(caught.value).startswith("192.0.2.0/24: ")
    assert message in str(caught.value)
    assert len(writer) == 0


def test_set_error_names_the_key_and_the_supported_types() -> None:
    with pytest.raises(MMDBWriteError) as caught:
        MMDBWriter().insert("192.0.2.0/24", {"tags": {"only"}})
    assert str(caught.value) == (
        "192.0.2.0/24: unsupported value {'only'} (type set) at tags;"
        " use dict (str keys), list/tuple, str, int, float, bool or bytes"
    )


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ("10.1.2.3/16", "invalid network '10.1.2.3/16': 10.1.2.3/16 has host bits set"),
        ("10.0.0.0/33", "invalid network '10.0.0.0/33'"),
        ("banana", "invalid network 'banana'"),
    ],
)
def test_invalid_networks(network: str, message: str) -> None:
    with pytest.raises(MMDBWriteError) as caught:
        MMDBWriter().insert(network, {"x": 1})
    assert str(caught.value).startswith(message)


def test_non_dict_data_and_bad_settings() -> None:
    with pytest.raises(MMDBWriteError, match=r"data for 192\.0\.2\.0/24 must be a dict, not list"):
        MMDBWriter().insert("192.0.2.0/24", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(MMDBWriteError, match="record_size must be 24, 28 or 32, not 16"):
        MMDBWriter(record_size=16)
    with pytest.raises(MMDBWriteError, match="ip_version must be 4 or 6, not 5"):
        MMDBWriter(ip_version=5)
    with pytest.raises(MMDBWriteError, match="build_epoch must be a positive Unix time, not 0"):
        MMDBWriter(build_epoch=0)


def test_too_many_nodes_for_the_record_size(tmp_path: Path) -> None:
    # 24-bit records address 16,777,216 values: nodes + 16 + data bytes must stay below that.
    writer = MMDBWriter(record_size=24, build_epoch=1)
    for n in range(100):
        writer.insert(f"10.{n}.0.0/16", {"blob": f"{n:03d}" * 57_000})  # distinct: no sharing
    target = tmp_path / "big.mmdb"
    with pytest.raises(MMDBWriteError) as caught:
        writer.write(target)
    assert "too many nodes for 24-bit records" in str(caught.value)
    assert str(caught.value).endswith("use record_size=28")
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file
    writer.record_size = 28
    writer.write(target)
    with open_reader(target, maxminddb.MODE_MMAP_EXT) as reader:
        assert reader.get("10.99.1.1") == {"blob": "099" * 57_000}


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "geo.mmdb"
    target.write_bytes(b"old content")
    writer = MMDBWriter(build_epoch=1)
    writer.insert("192.0.2.0/24", {"v": 1})
    writer.write(target)
    assert [entry.name for entry in tmp_path.iterdir()] == ["geo.mmdb"]
    assert target.read_bytes() == writer.to_bytes()
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    with pytest.raises(FileNotFoundError):
        writer.write(tmp_path / "missing-dir" / "geo.mmdb")
    assert [entry.name for entry in tmp_path.iterdir()] == ["geo.mmdb"]


def test_to_bytes_is_deterministic_with_a_pinned_epoch() -> None:
    def make() -> bytes:
        writer = MMDBWriter(build_epoch=42)
        writer.insert("2001:db8::/32", {"a": [1, 2]})
        writer.insert("192.0.2.0/24", {"b": "x"})
        return writer.to_bytes()

    assert make() == make()


# --- property: the tree answers exactly like a brute-force longest-prefix match -----------------

_V4_NETWORKS = st.builds(
    lambda address, prefix_len: ipaddress.ip_network((address, prefix_len), strict=False),
    st.integers(0x0A00_0000, 0x0A00_FFFF),  # all inside 10.0.0.0/16, so they overlap a lot
    st.integers(8, 32),
)
_V6_NETWORKS = st.builds(
    lambda address, prefix_len: ipaddress.ip_network((address, prefix_len), strict=False),
    st.integers(0x2001_0DB8 << 96, (0x2001_0DB8 << 96) + (1 << 100)),
    st.integers(16, 128),
)


def _expected(networks: list[Any], address: Any) -> tuple[int | None, Any]:
    """(index of the longest matching network, that network) — last insert wins on equal ones."""
    best: tuple[int | None, Any] = (None, None)
    for index, network in enumerate(networks):
        if address in network and (best[1] is None or network.prefixlen >= best[1].prefixlen):
            best = (index, network)
    return best


def _check_against_brute_force(
    networks: list[Any], probes: list[Any], ip_version: int, directory: Path
) -> None:
    writer = MMDBWriter(ip_version=ip_version, build_epoch=1)
    for position, network in enumerate(networks):
        writer.insert(network, {"i": position})
    path = directory / "property.mmdb"
    writer.write(path)
    with open_reader(path, maxminddb.MODE_MMAP_EXT) as reader:
        for address in probes:
            record, prefix_len = reader.get_with_prefix_len(address)
            index, matched = _expected(networks, address)
            assert (record or {}).get("i") == index, (address, networks)
            block = ipaddress.ip_network((int(address), prefix_len), strict=False)
            if matched is not None:
                assert prefix_len >= matched.prefixlen
            # The block the reader reports must be uniform: no other answer inside it.
            for other_index, other in enumerate(networks):
                if other.overlaps(block) and other_index != index:
                    assert matched is not None and other.prefixlen <= matched.prefixlen
                    assert other.supernet_of(block) or other == matched


def _probes(networks: list[Any], extra: list[int], version: int) -> list[Any]:
    addresses = [network.network_address for network in networks]
    addresses += [network.broadcast_address for network in networks]
    factory = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    return addresses + [factory(value) for value in extra]


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(_V4_NETWORKS, min_size=1, max_size=25), st.lists(st.integers(0x0A00_0000, 0x0A00_FFFF)))
def test_ipv4_tree_matches_longest_prefix(scratch: Path, networks: list[Any], extra: list[int]) -> None:
    _check_against_brute_force(networks, _probes(networks, extra, 4), 4, scratch)


@settings(max_examples=40, deadline=None, database=None)
@given(st.lists(_V6_NETWORKS, min_size=1, max_size=20))
def test_ipv6_tree_matches_longest_prefix(scratch: Path, networks: list[Any]) -> None:
    _check_against_brute_force(networks, _probes(networks, [], 6), 6, scratch)
