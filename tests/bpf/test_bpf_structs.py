"""The ctypes mirror (bpf/structs.py) matches the C structs: by BCC's own layout, and by the header text."""

from __future__ import annotations

import ctypes
import re

import pytest
from xdp_helpers import needs_root

from bpf.loader import C_DIR
from bpf.structs import MIRRORS, ip_to_net_u32, net_u32_to_ip, port_to_net_u16

_C_TYPES = {"__u8": 1, "__u16": 2, "__u32": 4, "__u64": 8}


def _layout(struct: type[ctypes.Structure]) -> list[tuple[str, int, int]]:
    return [(name, getattr(struct, name).offset, getattr(struct, name).size) for name, *_ in struct._fields_]


def _header_layouts() -> dict[str, tuple[list[tuple[str, int, int]], int]]:
    """Each struct of structs.h laid out by C's natural alignment rules, from the header text."""
    text = re.sub(r"/\*.*?\*/", "", (C_DIR / "structs.h").read_text(), flags=re.S)
    layouts = {}
    for name, body in re.findall(r"struct\s+(\w+)\s*\{(.*?)\};", text, flags=re.S):
        offset, fields, largest = 0, [], 1
        for ctype, field, count in re.findall(r"(__u\d+)\s+(\w+)(?:\[(\d+)\])?;", body):
            size = _C_TYPES[ctype]
            offset = (offset + size - 1) // size * size
            total = size * int(count or 1)
            fields.append((field, offset, total))
            offset += total
            largest = max(largest, size)
        layouts[name] = (fields, (offset + largest - 1) // largest * largest)
    return layouts


def test_every_header_struct_has_a_mirror() -> None:
    assert set(_header_layouts()) == set(MIRRORS)


@pytest.mark.parametrize("name", sorted(MIRRORS))
def test_mirror_matches_header_text(name: str) -> None:
    fields, size = _header_layouts()[name]
    assert _layout(MIRRORS[name]) == fields
    assert ctypes.sizeof(MIRRORS[name]) == size


# (map, "Key" or "Leaf") BCC generated from each struct
_BCC_TYPES = {
    "vip_key": ("vips", "Key"),
    "vip_meta": ("vips", "Leaf"),
    "real_def": ("reals", "Leaf"),
    "flow_key": ("conns", "Key"),
    "conn_val": ("conns", "Leaf"),
    "lb_stats": ("vip_stats", "sLeaf"),
    "lb_config": ("config", "Leaf"),
}


@needs_root
@pytest.mark.parametrize("name", sorted(MIRRORS))
def test_mirror_matches_what_bcc_compiled(small_program, name: str) -> None:  # type: ignore[no-untyped-def]
    table, attribute = _BCC_TYPES[name]
    compiled = getattr(small_program.table(table), attribute)
    assert compiled.__name__ == name
    assert _layout(compiled) == _layout(MIRRORS[name])
    assert ctypes.sizeof(compiled) == ctypes.sizeof(MIRRORS[name])


def test_network_order_helpers() -> None:
    assert ip_to_net_u32("10.0.0.1").to_bytes(4, "little") == bytes([10, 0, 0, 1])
    assert str(net_u32_to_ip(ip_to_net_u32("192.0.2.7"))) == "192.0.2.7"
    assert port_to_net_u16(80).to_bytes(2, "little") == b"\x00\x50"
