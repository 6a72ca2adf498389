"""Cross-document validation: what no single document can know about itself.

`validate(policy)` returns every problem at once (never just the first) so a user fixes a file in one
pass. Checks per record set are scoped to the zones a change touched, so validating one API write
does not re-check a million records.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from geodata.codes import GeoCodeError, parse_geo
from gslb.policy.base import is_subdomain, normalize_fqdn
from gslb.policy.documents import doc_key
from gslb.policy.dynamic import DynamicSpec
from gslb.policy.policyset import PolicySet
from gslb.policy.problems import PolicyError, Problem, pointer
from gslb.policy.records import APEX, DYNAMIC_TYPES, AnyRecordSet


def validate(policy: PolicySet, *, zones: Collection[str] | None = None) -> list[Problem]:
    """All problems of `policy`; record-set checks only for `zones` when given (None = all)."""
    problems: list[Problem] = []
    problems += _tenant_problems(policy)
    problems += _zone_problems(policy)
    problems += _record_problems(policy, zones)
    problems += _service_problems(policy)
    return problems


def ensure_valid(policy: PolicySet, *, zones: Collection[str] | None = None) -> None:
    problems = validate(policy, zones=zones)
    if problems:
        raise PolicyError(problems)


# --- tenants and zones ------------------------------------------------------------------------


def _tenant_problems(policy: PolicySet) -> Iterator[Problem]:
    tenants = policy.of_kind("tenant")
    for name, tenant in tenants.items():
        doc = f"tenant:{name}"
        if tenant.parent is None:
            continue
        if tenant.parent not in tenants:
            yield Problem(f"parent tenant {tenant.parent!r} does not exist", "/parent", doc)
            continue
        seen = {name}
        cursor = tenant.parent
        while cursor is not None and cursor in tenants:
            if cursor in seen:
                yield Problem(
                    f"parent chain loops back to {cursor!r}; tenants must form a tree", "/parent", doc
                )
                break
            seen.add(cursor)
            cursor = tenants[cursor].parent


def ancestors(policy: PolicySet, tenant: str) -> list[str]:
    """The tenant itself and its ancestors, nearest first (stops on loops)."""
    tenants = policy.of_kind("tenant")
    chain: list[str] = []
    cursor: str | None = tenant
    while cursor is not None and cursor not in chain:
        chain.append(cursor)
        parent = tenants.get(cursor)
        cursor = parent.parent if parent is not None else None
    return chain


def _zone_problems(policy: PolicySet) -> Iterator[Problem]:
    tenants = policy.of_kind("tenant")
    zones = policy.zones()
    for name, zone in zones.items():
        doc = f"zone:{name}"
        if zone.tenant not in tenants:
            yield Problem(f"tenant {zone.tenant!r} does not exist; create it first", "/tenant", doc)
            continue
        # A zone may sit inside another tenant's zone only when that tenant is an ancestor:
        # organisations delegate downwards, never sideways.
        parent = _enclosing_zone(name, zones)
        if parent is not None:
            owner = zones[parent].tenant
            if owner != zone.tenant and owner not in ancestors(policy, zone.tenant):
                yield Problem(
                    f"zone {name} lies inside zone {parent}, which belongs to another tenant; "
                    "only that tenant (or its child organisations) can host names below it",
                    "/name",
                    doc,
                )


def _enclosing_zone(name: str, zones: Collection[str]) -> str | None:
    labels = name.split(".")
    for index in range(1, len(labels) - 1):
        candidate = ".".join(labels[index:])
        if candidate in zones:
            return candidate
    return None


# --- record sets ------------------------------------------------------------------------------


def _record_problems(policy: PolicySet, scope: Collection[str] | None) -> Iterator[Problem]:
    zones = policy.zones()
    by_zone = policy.zone_records()
    checks = policy.of_kind("check")
    for zone_name, records in by_zone.items():
        if scope is not None and zone_name not in scope:
            continue
        zone = zones.get(zone_name)
        if zone is None:
            for record in records:
                yield Problem(f"zone {zone_name} does not exist; create it first", "/zone", doc_key(record))
            continue
        yield from _zone_content_problems(zone_name, records, zones)
        for record in records:
            yield from _record_set_problems(record, zone.tenant, checks)
    for zone_name in zones:
        if (scope is None or zone_name in scope) and not any(
            record.type == "NS" and record.name == APEX for record in by_zone.get(zone_name, ())
        ):
            yield Problem(
                f"zone {zone_name} has no NS record set at its apex; add one "
                f"(name '@', type NS, values like 'ns1.{zone_name}')",
                "",
                f"zone:{zone_name}",
            )


def _zone_content_problems(
    zone: str, records: list[AnyRecordSet], zones: Collection[str]
) -> Iterator[Problem]:
    types_at: dict[str, set[str]] = defaultdict(set)
    for record in records:
        types_at[record.name].add(record.type)
    cuts = {name for name, types in types_at.items() if "NS" in types and name != APEX}
    for record in records:
        doc = doc_key(record)
        fqdn = record.fqdn()
        if len(fqdn) > 254:
            yield Problem(f"{fqdn} is longer than 253 characters", "/name", doc)
        if record.type == "CNAME" and len(types_at[record.name]) > 1:
            others = sorted(types_at[record.name] - {"CNAME"})
            yield Problem(
                f"CNAME at {fqdn} cannot coexist with other data ({', '.join(others)}); "
                "remove them or use the target's records directly",
                "/type",
                doc,
            )
        if record.type == "CNAME" and record.name == APEX:
            yield Problem("a CNAME cannot be at the zone apex (it would hide SOA and NS)", "/name", doc)
        if record.type == "SOA" and record.name != APEX:
            yield Problem("SOA belongs at the zone apex ('@') only", "/name", doc)
        inner = _enclosing_zone_for(fqdn, zone, zones)
        if inner is not None:
            yield Problem(
                f"{fqdn} lies in zone {inner}, which is hosted here too; move the record set there",
                "/name",
                doc,
            )
        cut = _below_cut(record.name, cuts)
        if cut is not None and record.type not in ("A", "AAAA"):
            yield Problem(
                f"{fqdn} is below the delegation at {cut}.{zone} and would never be answered "
                "(only A/AAAA glue may live there)",
                "/name",
                doc,
            )
        if record.name in cuts and record.type not in ("NS", "DS"):
            yield Problem(
                f"{fqdn} is a delegation point (it has NS records); only NS and DS may live there",
                "/type",
                doc,
            )


def _enclosing_zone_for(fqdn: str, zone: str, zones: Collection[str]) -> str | None:
    candidate = _enclosing_zone(fqdn, zones) if fqdn != zone else None
    if fqdn in zones and fqdn != zone:
        candidate = fqdn
    return (
        candidate if candidate is not None and candidate != zone and is_subdomain(candidate, zone) else None
    )


def _below_cut(name: str, cuts: set[str]) -> str | None:
    if name == APEX:
        return None
    labels = name.split(".")
    for index in range(1, len(labels)):
        candidate = ".".join(labels[index:])
        if candidate in cuts:
            return candidate
    return None


def _record_set_problems(record: AnyRecordSet, tenant: str, checks: Mapping[str, Any]) -> Iterator[Problem]:
    doc = doc_key(record)
    dynamic: DynamicSpec | None = getattr(record, "dynamic", None)
    values = getattr(record, "values", ())
    if dynamic is None:
        if not values:
            yield Problem(
                f"a {record.type} record set needs at least one value (or a 'dynamic' section)",
                "/values",
                doc,
            )
        return
    if record.type not in DYNAMIC_TYPES:  # pragma: no cover - the models allow dynamic only there
        yield Problem("dynamic answers are supported for A, AAAA and CNAME", "/dynamic", doc)
        return
    yield from _dynamic_problems(record.type, dynamic, tenant, checks, doc)


def _dynamic_problems(
    rdtype: str, dynamic: DynamicSpec, tenant: str, checks: Mapping[str, Any], doc: str
) -> Iterator[Problem]:
    pools = dynamic.pools
    for pool_name, pool in pools.items():
        base = pointer("dynamic", "pools", pool_name)
        for index, member in enumerate(pool.values):
            where = f"{base}/values/{index}"
            message = _member_value_problem(rdtype, member.value)
            if message:
                yield Problem(message, where + "/value", doc)
            if member.probe is not None and _probe_problem(member.probe):
                yield Problem(_probe_problem(member.probe) or "", where + "/probe", doc)
            if member.health_check is not None and f"{tenant}/{member.health_check}" not in checks:
                yield Problem(
                    f"health check {member.health_check!r} does not exist in tenant {tenant!r}",
                    where + "/health_check",
                    doc,
                )
        if pool.fallback is not None and pool.fallback not in pools:
            yield Problem(
                f"fallback pool {pool.fallback!r} is not defined in this record's pools",
                base + "/fallback",
                doc,
            )
    yield from _fallback_cycles(dynamic, doc)
    if dynamic.all_down_pool is not None and dynamic.all_down_pool not in pools:
        yield Problem(f"pool {dynamic.all_down_pool!r} is not defined", "/dynamic/all_down_pool", doc)
    seen_geos: dict[str, int] = {}
    for index, rule in enumerate(dynamic.rules):
        base = f"/dynamic/rules/{index}"
        for pool_name in rule.target_pools:
            if pool_name not in pools:
                field = "pool" if rule.pool is not None else "nearest"
                yield Problem(
                    f"pool {pool_name!r} is not defined in this record's pools", f"{base}/{field}", doc
                )
            elif rule.nearest is not None and pools[pool_name].location is None:
                yield Problem(
                    f"pool {pool_name!r} has no location, which 'nearest' needs", f"{base}/nearest", doc
                )
        if rule.is_catch_all and index != len(dynamic.rules) - 1:
            yield Problem(
                "a rule without geos or subnets matches everyone and must be the last rule; "
                "the rules after it would never apply",
                base,
                doc,
            )
        for geo_index, geo in enumerate(rule.geos):
            try:
                key = parse_geo(geo).key
            except GeoCodeError as exc:
                yield Problem(str(exc), f"{base}/geos/{geo_index}", doc)
                continue
            if key in seen_geos:
                yield Problem(
                    f"geo {key} is already matched by rule {seen_geos[key]}; this one never applies",
                    f"{base}/geos/{geo_index}",
                    doc,
                )
            seen_geos.setdefault(key, index)


def _fallback_cycles(dynamic: DynamicSpec, doc: str) -> Iterator[Problem]:
    reported: set[frozenset[str]] = set()
    for start in dynamic.pools:
        path = [start]
        cursor = dynamic.pools[start].fallback
        while cursor is not None and cursor in dynamic.pools:
            if cursor in path:
                cycle = path[path.index(cursor) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    chain = " -> ".join([*cycle, cursor])
                    yield Problem(
                        f"fallback pools form a cycle ({chain}); end the chain with a pool "
                        "that has no fallback",
                        pointer("dynamic", "pools", start, "fallback"),
                        doc,
                    )
                break
            path.append(cursor)
            cursor = dynamic.pools[cursor].fallback


def _member_value_problem(rdtype: str, value: str) -> str | None:
    try:
        if rdtype == "A":
            ipaddress.IPv4Address(value)
        elif rdtype == "AAAA":
            ipaddress.IPv6Address(value)
        else:
            if "*" in normalize_fqdn(value):
                return f"{value!r}: a CNAME target cannot be a wildcard"
    except ValueError as exc:
        family = {"A": "an IPv4", "AAAA": "an IPv6"}.get(rdtype)
        return f"{value!r} is not {family} address" if family else str(exc)
    return None


def _probe_problem(probe: str) -> str | None:
    try:
        ipaddress.ip_address(probe)
        return None
    except ValueError:
        pass
    try:
        normalize_fqdn(probe)
    except ValueError as exc:
        return f"probe must be an IP address or host name: {exc}"
    return None


# --- services: checks, L4, L7, anycast ---------------------------------------------------------


def _service_problems(policy: PolicySet) -> Iterator[Problem]:
    tenants = policy.of_kind("tenant")
    checks = policy.of_kind("check")
    vips = policy.of_kind("vip")
    upstreams = policy.of_kind("upstream")
    for kind in ("check", "vip", "upstream", "route", "anycast"):
        for name, spec in policy.of_kind(kind).items():
            if spec.tenant not in tenants:
                yield Problem(
                    f"tenant {spec.tenant!r} does not exist; create it first", "/tenant", f"{kind}:{name}"
                )
    listeners: dict[tuple[str, int, str], str] = {}
    for name, vip in vips.items():
        doc = f"vip:{name}"
        seen: set[str] = set()
        for index, real in enumerate(vip.reals):
            if str(real.address) in seen:
                yield Problem(f"real {real.address} is listed twice", f"/reals/{index}/address", doc)
            seen.add(str(real.address))
            if real.health_check is not None and f"{vip.tenant}/{real.health_check}" not in checks:
                yield Problem(
                    f"health check {real.health_check!r} does not exist in tenant {vip.tenant!r}",
                    f"/reals/{index}/health_check",
                    doc,
                )
        listener = (str(vip.address), vip.port, vip.protocol)
        if listener in listeners:
            yield Problem(
                f"{vip.address}:{vip.port}/{vip.protocol} is already used by VIP {listeners[listener]}",
                "/address",
                doc,
            )
        listeners.setdefault(listener, name)
    for name, pool in upstreams.items():
        for index, member in enumerate(pool.members):
            if member.health_check is not None and f"{pool.tenant}/{member.health_check}" not in checks:
                yield Problem(
                    f"health check {member.health_check!r} does not exist in tenant {pool.tenant!r}",
                    f"/members/{index}/health_check",
                    f"upstream:{name}",
                )
    claimed: dict[tuple[str, str, str], str] = {}
    for name, route in policy.of_kind("route").items():
        doc = f"route:{name}"
        if f"{route.tenant}/{route.upstream}" not in upstreams:
            yield Problem(
                f"upstream pool {route.upstream!r} does not exist in tenant {route.tenant!r}",
                "/upstream",
                doc,
            )
        for index, host in enumerate(route.hosts):
            key = (host, route.path, route.path_match)
            other = claimed.setdefault(key, name)
            if other != name and other.split("/")[0] != route.tenant:
                yield Problem(
                    f"host {host} path {route.path} is already routed by another tenant",
                    f"/hosts/{index}",
                    doc,
                )
    announced: dict[str, str] = {}
    for name, spec in policy.of_kind("anycast").items():
        doc = f"anycast:{name}"
        vip = vips.get(f"{spec.tenant}/{spec.vip}") if spec.vip is not None else None
        if spec.vip is not None and vip is None:
            yield Problem(f"VIP {spec.vip!r} does not exist in tenant {spec.tenant!r}", "/vip", doc)
        elif vip is not None and vip.address not in spec.prefix:
            # Announcing a prefix that does not cover the VIP would attract no traffic for it.
            yield Problem(
                f"prefix {spec.prefix} does not contain the address {vip.address} of VIP {spec.vip!r}",
                "/prefix",
                doc,
            )
        other = announced.setdefault(str(spec.prefix), name)
        if other != name:
            yield Problem(f"prefix {spec.prefix} is already announced by {other}", "/prefix", doc)
