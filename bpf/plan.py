"""What the XDP maps should hold, computed from VIP specs and health: pure, no I/O.

The control plane (bpf/control.py) gathers the inputs (specs from the store, health states, next-hop
MACs from the kernel) and writes the result with bpf/tables.py. Indexes of reals and VIPs stay the
same across plans (`previous`) so that connection-table entries keep pointing at the right real.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bpf.maglev import EMPTY, maglev_table
from bpf.packets import PROTOCOLS
from bpf.structs import NO_REAL, VIP_F_L2
from gslb.engine.health_view import HealthView, member_health_key
from gslb.policy.l4 import VipSpec

VipKeyTuple = tuple[str, int, int]  # (IPv4 address text, port, IP protocol number)


@dataclass(frozen=True, slots=True)
class RealEntry:
    """A real of one VIP. The same address behind two VIPs has two entries, so removing it from one
    VIP ends that VIP's sticky flows to it without touching the other VIP's."""

    vip: str
    address: str
    mac: bytes

    @property
    def key(self) -> str:
        return f"{self.vip}|{self.address}"


@dataclass(frozen=True, slots=True)
class VipEntry:
    name: str  # tenant/name, for counters and messages
    vip_num: int
    ring_size: int
    flags: int
    ring: tuple[int, ...]  # real index per slot, NO_REAL where no real can take new flows
    weights: tuple[tuple[str, int], ...]  # effective (address, weight) after health


@dataclass(frozen=True, slots=True)
class Tables:
    vips: Mapping[VipKeyTuple, VipEntry] = field(default_factory=dict)
    reals: Mapping[int, RealEntry] = field(default_factory=dict)
    encap_src: str = "0.0.0.0"
    encap_src6: str = "::"
    problems: tuple[str, ...] = ()  # specs or reals left out, and why

    def real_index(self, address: str, vip: str | None = None) -> int:
        for index, real in self.reals.items():
            if real.address == address and vip in (None, real.vip):
                return index
        raise KeyError(address)


@dataclass(frozen=True, slots=True)
class Limits:
    max_vips: int
    max_reals: int
    ring_max: int


def effective_weight(spec: VipSpec, real_index: int, health: HealthView) -> int:
    """The weight a real gets: 0 when its health check says down, else its configured weight."""
    real = spec.reals[real_index]
    if real.health_check is None:
        return real.weight
    up = health.get(member_health_key(spec.tenant, real.health_check, str(real.address)), True)
    return real.weight if up else 0


def _allocate(
    wanted: Iterable[str], previous: Mapping[str, int], limit: int
) -> tuple[dict[str, int], list[str]]:
    """Stable small indexes: kept ones keep theirs, new ones take the lowest free."""
    wanted = list(dict.fromkeys(wanted))
    kept = {name: previous[name] for name in wanted if name in previous and previous[name] < limit}
    used = set(kept.values())
    free = (index for index in range(limit) if index not in used)
    result = dict(kept)
    overflow = []
    for name in wanted:
        if name in result:
            continue
        index = next(free, None)
        if index is None:
            overflow.append(name)
        else:
            result[name] = index
    return result, overflow


def plan_tables(
    specs: Iterable[VipSpec],
    health: HealthView,
    macs: Mapping[str, bytes],
    *,
    encap_src: str,
    encap_src6: str | None = None,
    limits: Limits,
    previous: Tables | None = None,
) -> Tables:
    """The maps' content for `specs` under `health`. What the XDP program cannot serve (too large a
    table, no next-hop MAC for a real, an IPv6 real with no IPv6 tunnel source) is left out and
    listed in `problems`."""
    problems: list[str] = []
    usable: list[VipSpec] = []
    for spec in sorted(specs, key=lambda s: s.doc_name()):
        if spec.maglev_table_size > limits.ring_max:
            problems.append(
                f"vip {spec.doc_name()}: maglev_table_size {spec.maglev_table_size} exceeds the loaded "
                f"program's ring size {limits.ring_max}; lower it or start `gslb l4` with a larger --ring-max"
            )
            continue
        usable.append(spec)

    previous_reals = {real.key: index for index, real in (previous.reals.items() if previous else ())}
    real_keys = []
    for spec in usable:
        for real in spec.reals:
            address = str(real.address)
            if real.address.version == 6 and spec.forwarding == "ipip" and encap_src6 is None:
                problems.append(
                    f"vip {spec.doc_name()}: real {address} is IPv6 but the forwarder has no IPv6 "
                    "tunnel source (give --dev an IPv6 address or pass --encap-source6); left out"
                )
            elif address not in macs:
                problems.append(f"vip {spec.doc_name()}: no next-hop MAC for real {address}; left out")
            else:
                real_keys.append(f"{spec.doc_name()}|{address}")
    real_indexes, overflow = _allocate(real_keys, previous_reals, limits.max_reals)
    problems += [f"real {key}: more than {limits.max_reals} reals of VIPs; left out" for key in overflow]

    previous_vips = {entry.name: entry.vip_num for entry in (previous.vips.values() if previous else ())}
    vip_nums, overflow = _allocate((spec.doc_name() for spec in usable), previous_vips, limits.max_vips)
    problems += [f"vip {name}: more than {limits.max_vips} VIPs; left out" for name in overflow]

    vips: dict[VipKeyTuple, VipEntry] = {}
    for spec in usable:
        name = spec.doc_name()
        if name not in vip_nums:
            continue
        key = (str(spec.address), spec.port, PROTOCOLS[spec.protocol])
        if key in vips:
            problems.append(
                f"vip {name}: {key[0]}:{spec.port}/{spec.protocol} is also vip {vips[key].name}; left out"
            )
            continue
        weights = []
        for position, real in enumerate(spec.reals):
            address = str(real.address)
            if f"{name}|{address}" in real_indexes:
                weights.append((address, effective_weight(spec, position, health)))
        weights = list(dict(weights).items())  # a real listed twice counts once (last weight)
        table = maglev_table(weights, spec.maglev_table_size)
        ring = tuple(
            NO_REAL if slot == EMPTY else real_indexes[f"{name}|{weights[slot][0]}"] for slot in table
        )
        vips[key] = VipEntry(
            name=name,
            vip_num=vip_nums[name],
            ring_size=spec.maglev_table_size,
            flags=VIP_F_L2 if spec.forwarding == "l2" else 0,
            ring=ring,
            weights=tuple(weights),
        )
    reals = {}
    for real_key, index in real_indexes.items():
        vip_name, _, address = real_key.rpartition("|")
        if vip_name in vip_nums:
            reals[index] = RealEntry(vip_name, address, macs[address])
    ipaddress.IPv4Address(encap_src)  # ValueError for the caller when not IPv4
    source6 = str(ipaddress.IPv6Address(encap_src6)) if encap_src6 is not None else "::"
    return Tables(vips=vips, reals=reals, encap_src=encap_src, encap_src6=source6, problems=tuple(problems))
