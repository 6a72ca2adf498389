"""What to probe: every (tenant, check, target) the policy references, from one PolicySet (pure).

DNS pool members, L4 VIP reals and L7 upstream members name a check of their tenant; each distinct
`member_health_key` becomes one probe target, whatever references it, so DNS, BGP, L4 and L7 share
one state. A pool member's `probe` address is what gets probed, its `value` what DNS answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gslb.engine.health_view import member_health_key, member_probe_target
from gslb.policy import PolicySet
from gslb.policy.health import DEFAULT_PORTS, DnsCheck, HttpCheck, TcpCheck, UdpCheck

Check = TcpCheck | HttpCheck | DnsCheck | UdpCheck


@dataclass(frozen=True, slots=True)
class Target:
    key: str  # member_health_key(tenant, check, host): where the state is stored
    tenant: str
    check_name: str
    check: Check
    host: str  # address or host name to probe
    port: int


@dataclass(frozen=True, slots=True)
class ValveGroup:
    """The checked members of one dynamic record: the safety valve looks at them together."""

    name: str  # store key of the record set
    keys: tuple[str, ...]
    on_all_down: str
    window: float  # seconds within which failures count as one burst


@dataclass(frozen=True, slots=True)
class TargetPlan:
    targets: Mapping[str, Target]
    groups: tuple[ValveGroup, ...]


def _port(check: Check, fallback: int | None) -> int:
    if check.port is not None:
        return int(check.port)
    if fallback:
        return fallback
    return DEFAULT_PORTS[check.type]


def _references(policy: PolicySet) -> Iterator[tuple[str, str, str, int | None, str | None]]:
    """(tenant, check name, host, port hint, record key) for every checked member."""
    for name, record in policy.of_kind("rrset").items():
        dynamic = getattr(record, "dynamic", None)
        if dynamic is None:
            continue
        tenant = policy.tenant_of(record)
        if tenant is None:
            continue
        for pool in dynamic.pools.values():
            for member in pool.values:
                if member.health_check is not None:
                    yield tenant, member.health_check, member_probe_target(member), None, f"rrset:{name}"
    for vip in policy.of_kind("vip").values():
        for real in vip.reals:
            if real.health_check is not None:
                yield vip.tenant, real.health_check, str(real.address), vip.port or None, None
    for upstream in policy.of_kind("upstream").values():
        for member in upstream.members:
            if member.health_check is not None:
                yield upstream.tenant, member.health_check, member.address, member.port, None


def plan_targets(policy: PolicySet) -> TargetPlan:
    checks: Mapping[str, Any] = policy.of_kind("check")
    targets: dict[str, Target] = {}
    members: dict[str, list[str]] = {}
    for tenant, check_name, host, port_hint, record_key in _references(policy):
        check = checks.get(f"{tenant}/{check_name}")
        if check is None:  # validation refuses dangling references; a stale mirror may still show one
            continue
        key = member_health_key(tenant, check_name, host)
        if key not in targets:
            targets[key] = Target(
                key, tenant, check_name, check, host.rstrip(".") or host, _port(check, port_hint)
            )
        if record_key is not None:
            members.setdefault(record_key, [])
            if key not in members[record_key]:
                members[record_key].append(key)
    groups = []
    records = policy.docs
    for record_key, keys in sorted(members.items()):
        dynamic = records[record_key].dynamic
        window = 2 * max(targets[key].check.interval for key in keys)
        groups.append(ValveGroup(record_key, tuple(keys), dynamic.on_all_down, window))
    return TargetPlan(targets, tuple(groups))
