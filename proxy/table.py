"""The route table: routes and upstream pools of every tenant, compiled for matching (pure).

Matching order for a request: routes of the exact host first, then of the wildcards that cover
it (longest suffix first); within one host, higher `priority` first, then exact paths, then
regexes (in name order), then prefixes, longer first (as nginx). The first route whose path and
method match wins, so a host with no matching route falls through to its wildcards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gslb.engine.health_view import member_health_key
from gslb.policy.l7 import HeaderRulesSpec, RouteSpec, UpstreamPoolSpec

_RANK = {"exact": 0, "regex": 1, "prefix": 2}


@dataclass(frozen=True, slots=True)
class MemberConfig:
    key: str  # "tenant/pool/address:port": identifies the member's runtime state across reloads
    address: str
    port: int
    weight: int
    healthy: bool  # from the shared health state (active checks); unknown counts as up


@dataclass(frozen=True, slots=True)
class PoolConfig:
    key: str  # "tenant/pool"
    spec: UpstreamPoolSpec
    members: tuple[MemberConfig, ...]


@dataclass(frozen=True, slots=True)
class HeaderRules:
    """HeaderRulesSpec lowered for the data path: names as bytes, lower-cased where compared."""

    remove: frozenset[bytes]
    set: tuple[tuple[bytes, bytes], ...]
    add: tuple[tuple[bytes, bytes], ...]

    @property
    def empty(self) -> bool:
        return not (self.remove or self.set or self.add)

    @classmethod
    def lower(cls, spec: HeaderRulesSpec) -> HeaderRules:
        return cls(
            frozenset(name.lower().encode() for name in (*spec.remove, *spec.set)),
            tuple((name.encode(), value.encode()) for name, value in spec.set.items()),
            tuple((name.encode(), value.encode()) for name, value in spec.add.items()),
        )

    def apply(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        kept = [item for item in headers if item[0].lower() not in self.remove] if self.remove else headers
        return [*kept, *self.set, *self.add]


@dataclass(frozen=True, slots=True)
class Route:
    key: str  # "tenant/name"
    spec: RouteSpec
    pool: PoolConfig
    methods: frozenset[bytes]  # empty: every method
    regex: re.Pattern[str] | None
    request_headers: HeaderRules
    response_headers: HeaderRules
    has_request_rules: bool = False
    has_response_rules: bool = False

    @property
    def tenant(self) -> str:
        return self.spec.tenant

    def matches(self, path: str, method: bytes) -> bool:
        if self.methods and method not in self.methods:
            return False
        spec = self.spec
        if spec.path_match == "prefix":
            # "/api" matches "/api", "/api/x" and "/api?q" but not "/apix"; "/api/" only "/api/..."
            prefix = spec.path
            return path.startswith(prefix) and (
                len(path) == len(prefix) or prefix.endswith("/") or path[len(prefix)] in "/?"
            )
        if spec.path_match == "exact":
            return path == spec.path
        assert self.regex is not None
        return self.regex.match(path) is not None

    def rewrite(self, path: str) -> str:
        """The path sent upstream (query string excluded; the caller re-attaches it)."""
        new = self.spec.rewrite_path
        if new is None:
            return path
        if self.spec.path_match == "prefix":
            rest = path[len(self.spec.path) :]
            if new.endswith("/") and rest.startswith("/"):
                rest = rest[1:]
            return (new + rest) or "/"
        if self.spec.path_match == "exact":
            return new
        assert self.regex is not None
        return self.regex.sub(new, path, count=1) or "/"


@dataclass(frozen=True, slots=True)
class RouteTable:
    revision: int
    exact: Mapping[str, tuple[Route, ...]]
    wildcard: Mapping[str, tuple[Route, ...]]  # "example.com" for "*.example.com"
    pools: Mapping[str, PoolConfig]
    routes: Mapping[str, Route] = field(default_factory=dict)
    # host (or "*.suffix") -> (cert_file, key_file), for SNI on TLS listeners
    certificates: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def certificate_for(self, host: str) -> tuple[str, str] | None:
        found = self.certificates.get(host)
        suffix = host
        while found is None:
            dot = suffix.find(".")
            if dot < 0:
                return None
            suffix = suffix[dot + 1 :]
            found = self.certificates.get("*." + suffix)
        return found

    def match(self, host: str, path: str, method: bytes) -> Route | None:
        """The route for a request; `host` lower-case without port, `path` without the query."""
        routes = self.exact.get(host)
        if routes is not None:
            for route in routes:
                if route.matches(path, method):
                    return route
        if self.wildcard:
            suffix = host
            while True:
                dot = suffix.find(".")
                if dot < 0:
                    return None
                suffix = suffix[dot + 1 :]
                routes = self.wildcard.get(suffix)
                if routes is not None:
                    for route in routes:
                        if route.matches(path, method):
                            return route
        return None


def _sort_key(route: Route) -> tuple[int, int, int, str]:
    spec = route.spec
    return (-spec.priority, _RANK[spec.path_match], -len(spec.path), route.key)


def compile_pool(spec: UpstreamPoolSpec, health: Mapping[str, bool]) -> PoolConfig:
    key = spec.doc_name()
    members = []
    for member in spec.members:
        healthy = True
        if member.health_check is not None:
            healthy = health.get(member_health_key(spec.tenant, member.health_check, member.address), True)
        members.append(
            MemberConfig(
                f"{key}/{member.address}:{member.port}", member.address, member.port, member.weight, healthy
            )
        )
    return PoolConfig(key, spec, tuple(members))


def compile_table(
    routes: Iterable[RouteSpec],
    pools: Iterable[UpstreamPoolSpec],
    health: Mapping[str, bool],
    *,
    revision: int = 0,
) -> RouteTable:
    """Compile routes and pools; a route naming a pool that does not exist is left out."""
    compiled_pools = {spec.doc_name(): compile_pool(spec, health) for spec in pools}
    exact: dict[str, list[Route]] = {}
    wildcard: dict[str, list[Route]] = {}
    by_key: dict[str, Route] = {}
    for spec in routes:
        pool = compiled_pools.get(f"{spec.tenant}/{spec.upstream}")
        if pool is None:
            continue
        request_rules = HeaderRules.lower(spec.request_headers)
        response_rules = HeaderRules.lower(spec.response_headers)
        route = Route(
            spec.doc_name(),
            spec,
            pool,
            frozenset(method.encode() for method in spec.methods),
            re.compile(spec.path) if spec.path_match == "regex" else None,
            request_rules,
            response_rules,
            not request_rules.empty,
            not response_rules.empty,
        )
        by_key[route.key] = route
        for host in spec.hosts:
            if host.startswith("*."):
                wildcard.setdefault(host[2:], []).append(route)
            else:
                exact.setdefault(host, []).append(route)
    certificates: dict[str, tuple[str, str]] = {}
    # One certificate per host: the highest-priority route that names one wins (then by name).
    for route in sorted(by_key.values(), key=lambda r: (-r.spec.priority, r.key)):
        tls = route.spec.tls
        if tls is not None:
            for host in route.spec.hosts:
                certificates.setdefault(host, (tls.cert_file, tls.key_file))
    return RouteTable(
        revision,
        {host: tuple(sorted(found, key=_sort_key)) for host, found in exact.items()},
        {host: tuple(sorted(found, key=_sort_key)) for host, found in wildcard.items()},
        compiled_pools,
        by_key,
        certificates,
    )
