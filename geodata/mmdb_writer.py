"""A pure-Python writer of MaxMind DB (format 2.0) files, written from the public specification.

https://maxmind.github.io/MaxMind-DB/ — file layout: binary search tree (one bit of the address per
level, two records per node), 16 zero bytes, data section, metadata marker, metadata map.

Overlapping networks: the more specific network wins wherever it applies, whatever the insertion
order; inserting the same network again replaces its data. This is done by inserting into the trie
in order of prefix length at build time, so a later, longer prefix always splits an earlier leaf.

IPv4 in an IPv6 database lives in ::/96 (what MaxMind does), and ::ffff:0:0/96 points at that same
subtree so IPv4-mapped addresses find the IPv4 data. Note that ::/96 is therefore shared: ::1/128
and 0.0.0.1/32 are the same leaf.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from geodata.errors import MMDBWriteError
from geodata.mmdb_encoding import UINT16, UINT32, UINT64, DataSection, Typed, encode

__all__ = ["METADATA_MARKER", "MMDBWriteError", "MMDBWriter"]

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
_SEPARATOR = bytes(16)
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_V4_IN_V6_BITS = 96

# A trie child: None (no data), an int (offset in the data section) or another node.
_Child: TypeAlias = "int | list[Any] | None"
_Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


class MMDBWriter:
    """Collects networks and their data, then serialises them as a MaxMind DB file."""

    def __init__(
        self,
        ip_version: int = 6,
        record_size: int = 28,
        database_type: str = "GSLB-Demo-City",
        languages: Sequence[str] = ("en",),
        description: Mapping[str, str] | None = None,
        build_epoch: int | None = None,
    ) -> None:
        if ip_version not in (4, 6):
            raise MMDBWriteError(f"ip_version must be 4 or 6, not {ip_version!r}")
        if record_size not in (24, 28, 32):
            raise MMDBWriteError(f"record_size must be 24, 28 or 32, not {record_size!r}")
        if build_epoch is not None and not 0 < build_epoch < 1 << 64:
            # libmaxminddb (the C reader) refuses a database whose build_epoch is 0.
            raise MMDBWriteError(f"build_epoch must be a positive Unix time, not {build_epoch!r}")
        self.ip_version = ip_version
        self.record_size = record_size
        self.database_type = database_type
        self.languages = tuple(languages)
        self.description = dict(description or {"en": f"{database_type} database written by gslb geodata"})
        # Pinned for reproducible files (tests, golden files); defaults to the time of writing.
        self.build_epoch = build_epoch
        self._bits = 32 if ip_version == 4 else 128
        self._data = DataSection()
        # (network bits in tree space, prefix length in tree space) -> data offset
        self._networks: dict[tuple[int, int], int] = {}

    def __len__(self) -> int:
        """Number of distinct networks inserted."""
        return len(self._networks)

    def insert(self, network: str | _Network, data: Mapping[str, Any]) -> None:
        """Map `network` (e.g. "10.1.0.0/16", host bits must be zero) to the record `data`."""
        parsed = self._parse_network(network)
        if not isinstance(data, Mapping):
            raise MMDBWriteError(f"data for {parsed} must be a dict, not {type(data).__name__}")
        try:
            # Stored now (the caller may mutate `data` later); a record replaced by a later insert
            # of the same network stays in the data section unless another network shares it.
            offset = self._data.add(data)
        except MMDBWriteError as exc:
            raise MMDBWriteError(f"{parsed}: {exc}") from None
        self._networks[self._tree_key(parsed)] = offset

    def to_bytes(self) -> bytes:
        """The complete database file."""
        root = self._build_trie()
        nodes = _number_nodes(root)
        node_count = len(nodes)
        data = self._data.to_bytes()
        largest = node_count + len(_SEPARATOR) + len(data)
        if largest >= 1 << self.record_size:
            bigger = [size for size in (28, 32) if size > self.record_size]
            hint = f"; use record_size={bigger[0]}" if bigger else "; split the data into several databases"
            raise MMDBWriteError(
                f"too many nodes for {self.record_size}-bit records: {node_count} nodes and {len(data)} bytes"
                f" of data need record values up to {largest}, but the limit is {(1 << self.record_size) - 1}"
                f"{hint}"
            )
        tree = _serialise_tree(nodes, node_count, self.record_size)
        return b"".join((tree, _SEPARATOR, data, METADATA_MARKER, self._metadata(node_count)))

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the file atomically: readers see either the old file or the complete new one."""
        content = self.to_bytes()
        target = Path(path)
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            # mkstemp creates 0600; the DNS server reading the file may run as another user.
            os.chmod(temp_name, 0o644)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def _parse_network(self, network: str | _Network) -> _Network:
        if isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network):
            parsed = network
        else:
            try:
                parsed = ipaddress.ip_network(network, strict=True)
            except ValueError as exc:
                raise MMDBWriteError(f"invalid network {network!r}: {exc}") from None
        if isinstance(parsed, ipaddress.IPv6Network) and self.ip_version == 4:
            raise MMDBWriteError(
                f"cannot insert IPv6 network {parsed} into an ip_version=4 database;"
                " use MMDBWriter(ip_version=6)"
            )
        return parsed

    def _tree_key(self, network: _Network) -> tuple[int, int]:
        address = int(network.network_address)
        if isinstance(network, ipaddress.IPv4Network):
            shift = 0 if self.ip_version == 4 else _V4_IN_V6_BITS
            return address, network.prefixlen + shift
        if network.subnet_of(_IPV4_MAPPED):
            # ::ffff:0:0/96 aliases the IPv4 subtree, so data written there belongs to IPv4.
            return address & 0xFFFF_FFFF, network.prefixlen
        return address, network.prefixlen

    def _build_trie(self) -> list[Any]:
        root: list[Any] = [None, None]
        # Shorter prefixes first: a longer one then splits the leaf it falls in, so it wins.
        for (address, prefix_len), offset in sorted(self._networks.items(), key=lambda item: item[0][1]):
            if prefix_len == 0:
                # The root must be a node, so a /0 fills both halves (readers report prefix 1).
                root[0] = root[1] = offset
            else:
                _set_path(root, address, prefix_len, self._bits, offset)
        if self.ip_version == 6:
            self._alias_ipv4_mapped(root)
        return root

    def _alias_ipv4_mapped(self, root: list[Any]) -> None:
        ipv4_root = _child_at(root, 0, _V4_IN_V6_BITS, self._bits)
        if ipv4_root is None:
            return
        mapped = int(_IPV4_MAPPED.network_address)
        current = _child_at(root, mapped, _V4_IN_V6_BITS, self._bits)
        if current is ipv4_root or (isinstance(current, int) and current == ipv4_root):
            return  # already covered by the same leaf, e.g. a ::/0 record and no IPv4 data
        _set_path(root, mapped, _V4_IN_V6_BITS, self._bits, ipv4_root)

    def _metadata(self, node_count: int) -> bytes:
        epoch = int(time.time()) if self.build_epoch is None else self.build_epoch
        metadata = {
            "binary_format_major_version": Typed(UINT16, 2),
            "binary_format_minor_version": Typed(UINT16, 0),
            "build_epoch": Typed(UINT64, epoch),
            "database_type": self.database_type,
            "description": self.description,
            "ip_version": Typed(UINT16, self.ip_version),
            "languages": list(self.languages),
            "node_count": Typed(UINT32, node_count),
            "record_size": Typed(UINT16, self.record_size),
        }
        return encode(metadata, "metadata")


def _bit(address: int, depth: int, bits: int) -> int:
    return (address >> (bits - 1 - depth)) & 1


def _set_path(root: list[Any], address: int, prefix_len: int, bits: int, value: _Child) -> None:
    """Make the record for `address/prefix_len` hold `value`, splitting leaves on the way."""
    node = root
    for depth in range(prefix_len - 1):
        side = _bit(address, depth, bits)
        child = node[side]
        if not isinstance(child, list):
            # A shorter network's leaf (or nothing) covers this path: push it down both halves.
            child = [child, child]
            node[side] = child
        node = child
    node[_bit(address, prefix_len - 1, bits)] = value


def _child_at(root: list[Any], address: int, prefix_len: int, bits: int) -> _Child:
    """What a reader finds for `address/prefix_len`: the record there, or the leaf covering it."""
    node = root
    for depth in range(prefix_len):
        child = node[_bit(address, depth, bits)]
        if depth == prefix_len - 1 or not isinstance(child, list):
            return child
        node = child
    return node


def _number_nodes(root: list[Any]) -> list[list[Any]]:
    """Nodes in breadth-first order (root is node 0); a shared (aliased) node is numbered once."""
    order = [root]
    seen = {id(root)}
    index = 0
    while index < len(order):
        for child in order[index]:
            if isinstance(child, list) and id(child) not in seen:
                seen.add(id(child))
                order.append(child)
        index += 1
    return order


def _serialise_tree(nodes: list[list[Any]], node_count: int, record_size: int) -> bytes:
    numbers = {id(node): number for number, node in enumerate(nodes)}
    data_base = node_count + len(_SEPARATOR)

    def record(child: _Child) -> int:
        if child is None:
            return node_count  # "no data" marker
        if isinstance(child, int):
            return data_base + child
        return numbers[id(child)]

    out = bytearray()
    for left_child, right_child in nodes:
        left, right = record(left_child), record(right_child)
        if record_size == 24:
            out += left.to_bytes(3, "big") + right.to_bytes(3, "big")
        elif record_size == 28:
            # The top 4 bits of each record share the middle byte: left's high nibble first.
            middle = (left >> 24) << 4 | (right >> 24)
            out += (
                (left & 0xFFFFFF).to_bytes(3, "big")
                + bytes((middle,))
                + (right & 0xFFFFFF).to_bytes(3, "big")
            )
        else:
            out += left.to_bytes(4, "big") + right.to_bytes(4, "big")
    return bytes(out)
