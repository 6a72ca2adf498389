"""Write a plan (bpf/plan.py Tables) into the loaded program's maps, and read its counters.

Order matters for packets in flight: reals and rings are written before the VIP entries that point
at them, and VIP entries are removed before what they point at.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bpf.plan import Tables, VipEntry, VipKeyTuple
from bpf.structs import (
    REAL_F_PRESENT,
    LbConfig,
    RealDef,
    VipKey,
    VipMeta,
    addr_words,
    family_of,
    ip_to_net_u32,
    port_to_net_u16,
)

log = logging.getLogger(__name__)


def _vip_key(key: VipKeyTuple) -> VipKey:
    address, port, proto = key
    return VipKey(
        addr=addr_words(address), port=port_to_net_u16(port), proto=proto, family=family_of(address)
    )


def _address_key(address: str) -> VipKey:
    return VipKey(addr=addr_words(address), family=family_of(address))


def _write_ring(rings: Any, ring_max: int, entry: VipEntry) -> None:
    count = len(entry.ring)
    base = entry.vip_num * ring_max
    keys = (rings.Key * count)(*range(base, base + count))
    values = (rings.Leaf * count)(*entry.ring)
    try:
        rings.items_update_batch(keys, values)
    except Exception:  # kernels before 5.6 have no batch ops on arrays: one write per slot
        for index, value in zip(range(base, base + count), entry.ring, strict=True):
            rings[ctypes.c_int(index)] = ctypes.c_uint32(value)


def write_tables(program: Any, tables: Tables, previous: Tables | None) -> None:
    """Make the maps hold `tables`, given that they hold `previous` (None: freshly loaded)."""
    old_vips: Mapping[VipKeyTuple, VipEntry] = previous.vips if previous else {}
    old_reals = previous.reals if previous else {}
    vips, vip_addrs = program.table("vips"), program.table("vip_addrs")
    rings, reals, config = program.table("rings"), program.table("reals"), program.table("config")
    ring_max = program.sizes.ring_max

    # counters of a newly used slot start at zero (a slot may be reused after a removal)
    old_nums = {entry.vip_num for entry in old_vips.values()}
    for entry in tables.vips.values():
        if entry.vip_num not in old_nums:
            _zero(program.table("vip_stats"), entry.vip_num)
    for index in tables.reals.keys() - old_reals.keys():
        _zero(program.table("real_stats"), index)

    config[ctypes.c_int(0)] = LbConfig(
        encap_src=ip_to_net_u32(tables.encap_src), encap_src6=addr_words(tables.encap_src6), flags=0
    )
    for index, real in tables.reals.items():
        if old_reals.get(index) != real:
            reals[ctypes.c_int(index)] = RealDef(
                addr=addr_words(real.address),
                mac=(ctypes.c_uint8 * 6)(*real.mac),
                flags=REAL_F_PRESENT,
                family=family_of(real.address),
            )
    old_by_num = {entry.vip_num: entry for entry in old_vips.values()}
    for entry in tables.vips.values():
        old = old_by_num.get(entry.vip_num)
        if old is None or old.ring != entry.ring:
            _write_ring(rings, ring_max, entry)
    for key, entry in tables.vips.items():
        if old_vips.get(key) != entry:
            vips[_vip_key(key)] = VipMeta(vip_num=entry.vip_num, ring_size=entry.ring_size, flags=entry.flags)
    addresses = {address for address, _, _ in tables.vips}
    for address in addresses:
        vip_addrs[_address_key(address)] = ctypes.c_uint32(1)

    # removals, after the additions: a VIP first, then its address, then the reals nobody uses
    for key in old_vips.keys() - tables.vips.keys():
        _delete(vips, _vip_key(key))
    for address in {address for address, _, _ in old_vips} - addresses:
        _delete(vip_addrs, _address_key(address))
    for index in old_reals.keys() - tables.reals.keys():
        # cleared, not deleted (an array): flags 0 makes sticky flows on it re-pick a real
        reals[ctypes.c_int(index)] = RealDef()


def _zero(percpu_table: Any, index: int) -> None:
    percpu_table[percpu_table.Key(index)] = percpu_table.Leaf()


def _delete(table: Any, key: Any) -> None:
    with contextlib.suppress(KeyError):
        del table[key]


@dataclass(frozen=True, slots=True)
class Counter:
    packets: int
    bytes: int


def _percpu_sum(table: Any, index: int) -> Counter:
    values = table.getvalue(table.Key(index))
    return Counter(sum(v.packets for v in values), sum(v.bytes for v in values))


def read_counters(program: Any, tables: Tables) -> tuple[dict[str, Counter], dict[str, Counter]]:
    """Per-VIP (by tenant/name) and per-real (by "tenant/name|address") packet and byte counters,
    summed over CPUs."""
    vip_stats, real_stats = program.table("vip_stats"), program.table("real_stats")
    vips = {entry.name: _percpu_sum(vip_stats, entry.vip_num) for entry in tables.vips.values()}
    reals = {real.key: _percpu_sum(real_stats, index) for index, real in tables.reals.items()}
    return vips, reals


def clear_connections(program: Any) -> None:
    program.table("conns").clear()


def connection_count(program: Any) -> int:
    return sum(1 for _ in program.table("conns"))
