"""Compile a dynamic record set (octoDNS-style pools and rules) with the health view into arrays.

Health is baked in at compile time: every rule already knows which pool answers after following
`fallback` links past pools without a healthy member, and what `on_all_down` answers when the
whole chain is down. A health change is a recompile of the zones that depend on it (see
`ZoneSnapshot.health_keys`), never work per query. What remains per query is matching the client
against the rules and picking members by weight (`gslb.engine.select`).

Semantics, where the policy leaves room for choice:

- Rules are tried in order; the first that matches wins. A rule matches when the client address is
  in one of its subnets or the client's location is one of its geos (at subdivision, country or
  continent level). A rule with neither matches every client.
- When no rule matches, a record with static `values` answers them all, in the order given
  (as octoDNS does). Without static values the first rule's target answers, exactly as if that rule
  had matched: health-aware, following fallbacks, then `on_all_down`. Answering the members that
  are known to work is better than octoDNS's choice of answering values regardless of health.
- A `nearest` rule orders its candidate pools by great-circle distance from the client; the first
  candidate with a healthy member answers; if none has one, the candidates' fallback chains are
  tried in the same order; if those are down too, `on_all_down` applies with the nearest candidate
  as "the first pool". Clients without coordinates see the candidates in the order listed.
- `on_all_down`: fail_open answers every member of the rule's first pool (for `nearest`: the
  nearest candidate) regardless of health, fail_closed answers no data, fallback_pool answers
  every member of `all_down_pool` regardless of health.
- A CNAME record set answers one member whatever `max_answers` says: a name has one CNAME.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address

from gslb.engine.health_view import HealthView
from gslb.engine.memo import CompileMemo
from gslb.engine.outcome import Member, Outcome, build_outcome, make_member
from gslb.engine.wire import rdtype_code
from gslb.policy.dynamic import DynamicSpec, PoolSpec, RuleSpec, StickySpec

__all__ = ["CompiledRule", "DynamicAnswer", "NearestCandidate", "SubnetMatch", "compile_dynamic"]

# (network as int, netmask as int, prefix length, the reason given when it matches)
SubnetMatch = tuple[int, int, int, str]


@dataclass(frozen=True, slots=True)
class NearestCandidate:
    pool: str
    latitude: float
    longitude: float
    own: Outcome | None  # the pool's healthy members, None when it has none
    chain: Outcome | None  # what its fallback chain answers when it has no healthy member itself
    all_down: Outcome  # `on_all_down` with this candidate as the nearest one


@dataclass(frozen=True, slots=True)
class CompiledRule:
    index: int
    label: str  # "rule 1 (geos NA-US; subnets 10.0.0.0/8)", for explanations
    # Reasons are worked out at compile time so a query builds no strings; for `nearest` rules
    # they stop before the choice of pool, which depends on the client.
    reason: str  # as a catch-all (or as the default when no rule matches)
    catch_all: bool
    v4: tuple[SubnetMatch, ...]
    v6: tuple[SubnetMatch, ...]
    subdivisions: frozenset[str]  # "NA-US-CA"
    countries: frozenset[str]  # "NA-US"
    continents: frozenset[str]  # "NA"
    # The three above together, each with its reason: client geo keys are unambiguous per level.
    geo_reasons: Mapping[str, str]
    outcome: Outcome | None  # for `pool` rules; None for `nearest` rules
    nearest: tuple[NearestCandidate, ...]


@dataclass(frozen=True, slots=True)
class DynamicAnswer:
    """A compiled dynamic record set; `gslb.engine.select.select` answers from it per query."""

    rdtype: int
    ttl: int
    max_answers: int | None  # None: every member of the chosen outcome
    sticky: StickySpec | None
    rules: tuple[CompiledRule, ...]
    static_default: Outcome | None  # the record's static values, answered when no rule matches
    # Set when the answer never depends on the client (one catch-all `pool` rule): select skips
    # rule matching, and the ECS scope is 0 unless sticky.
    simple: Outcome | None
    simple_reason: str
    health_keys: frozenset[str]  # health states this answer was compiled from


@dataclass(slots=True)
class _Pool:
    name: str
    spec: PoolSpec
    members: list[Member]
    healthy: list[Member]


class _Compiler:
    """State of compiling one record set; outcomes are memoised because rules share pools."""

    def __init__(
        self,
        rdtype: str,
        spec: DynamicSpec,
        *,
        ttl: int,
        tenant: str,
        health: HealthView,
        memo: CompileMemo,
    ) -> None:
        self.rdtype = rdtype
        self.code = rdtype_code(rdtype)
        self.spec = spec
        self.ttl = ttl
        self.tenant = tenant
        self.health = health
        self.memo = memo
        self.health_keys: set[str] = set()
        self.pools = {name: self._pool(name, pool) for name, pool in spec.pools.items()}
        self._chains: dict[str, Outcome | None] = {}
        self._all_down: dict[str, Outcome] = {}

    # --- pools and members ---------------------------------------------------------------------

    def rdata(self, value: str) -> bytes:
        if self.rdtype == "CNAME":
            return self.memo.name(value)
        return self.memo.address(self.rdtype, value)

    def _pool(self, name: str, pool: PoolSpec) -> _Pool:
        members = []
        healthy = []
        health_key = self.memo.health_key
        for member in pool.values:
            value = member.value
            try:
                rdata = self.rdata(value)
            except ValueError:
                continue  # validation reports bad values; compile answers the good ones
            compiled = make_member(value, self.code, self.ttl, rdata, member.weight)
            members.append(compiled)
            # Same rule as health_view.member_is_up, with the key worked out once and remembered.
            status = member.status
            check = member.health_check
            if status == "obey" and check is not None:
                key = health_key(self.tenant, check, value if member.probe is None else member.probe)
                self.health_keys.add(key)
                if self.health.get(key, True):
                    healthy.append(compiled)
            elif status != "down":
                healthy.append(compiled)
        return _Pool(name, pool, members, healthy)

    # --- resolution under health ---------------------------------------------------------------

    def chain(self, start: str) -> Outcome | None:
        """Healthy members of `start`, else of the first pool down its fallback chain that has any."""
        if start in self._chains:
            return self._chains[start]
        visited: list[str] = []
        cursor: str | None = start
        outcome = None
        while cursor is not None and cursor in self.pools and cursor not in visited:
            visited.append(cursor)
            pool = self.pools[cursor]
            if pool.healthy:
                if len(visited) == 1:
                    reason = f"pool {cursor}"
                else:
                    skipped = ", ".join(visited[:-1])
                    reason = f"pool {cursor} (fell back from {skipped}: no healthy member)"
                outcome = build_outcome(pool.healthy, pool=cursor, reason=reason)
                break
            cursor = pool.spec.fallback
        self._chains[start] = outcome
        return outcome

    def all_down(self, first: str) -> Outcome:
        """What `on_all_down` answers when `first` and everything it falls back to is down."""
        if first in self._all_down:
            return self._all_down[first]
        mode = self.spec.on_all_down
        prefix = f"all pools down from {first}"
        pool: _Pool | None = None
        if mode == "fail_open":
            pool = self.pools.get(first)
        elif mode == "fallback_pool" and self.spec.all_down_pool is not None:
            pool = self.pools.get(self.spec.all_down_pool)
        if pool is None:
            reason = f"{prefix} -> fail_closed: no data" if mode == "fail_closed" else f"{prefix}: no data"
            outcome = build_outcome((), pool=None, reason=reason, healthy=False)
        else:
            reason = f"{prefix} -> {mode}: pool {pool.name} regardless of health"
            outcome = build_outcome(pool.members, pool=pool.name, reason=reason, healthy=False)
        self._all_down[first] = outcome
        return outcome

    def target(self, pool: str) -> Outcome:
        return self.chain(pool) or self.all_down(pool)

    # --- rules ---------------------------------------------------------------------------------

    def rule(self, index: int, rule: RuleSpec) -> CompiledRule | None:
        levels: tuple[set[str], set[str], set[str]] = (set(), set(), set())
        for text in rule.geos:
            level, key = self.memo.geo(text)
            if level >= 0:
                levels[level].add(key)
        if rule.geos and not any(levels) and not rule.subnets:
            return None  # only invalid geos: matching nobody beats matching everybody
        if rule.pool is not None:
            if rule.pool not in self.pools:
                return None
            outcome: Outcome | None = self.target(rule.pool)
            nearest: tuple[NearestCandidate, ...] = ()
        else:
            outcome = None
            nearest = tuple(self._candidates(rule.nearest or ()))
            if not nearest:
                return None
        label = _rule_label(index, rule)
        tail = f": {outcome.reason}" if outcome is not None else ""
        v4: list[SubnetMatch] = []
        v6: list[SubnetMatch] = []
        for network in rule.subnets:
            entry = (
                int(network.network_address),
                int(network.netmask),
                network.prefixlen,
                f"{label} matched {network}{tail}",
            )
            (v4 if isinstance(network, IPv4Network) else v6).append(entry)
        return CompiledRule(
            index=index,
            label=label,
            reason=label + tail,
            catch_all=rule.is_catch_all,
            v4=tuple(v4),
            v6=tuple(v6),
            subdivisions=frozenset(levels[0]),
            countries=frozenset(levels[1]),
            continents=frozenset(levels[2]),
            geo_reasons={key: f"{label} matched geo {key}{tail}" for level in levels for key in level},
            outcome=outcome,
            nearest=nearest,
        )

    def _candidates(self, names: Sequence[str]) -> list[NearestCandidate]:
        candidates = []
        for name in names:
            pool = self.pools.get(name)
            if pool is None or pool.spec.location is None:
                continue
            resolved = self.chain(name)  # the pool itself when healthy, else down its fallback chain
            own, chain = (resolved, None) if pool.healthy else (None, resolved)
            candidates.append(
                NearestCandidate(
                    pool=name,
                    latitude=pool.spec.location.latitude,
                    longitude=pool.spec.location.longitude,
                    own=own,
                    chain=chain,
                    all_down=self.all_down(name),
                )
            )
        return candidates


def _rule_label(index: int, rule: RuleSpec) -> str:
    parts = []
    if rule.geos:
        parts.append("geos " + ", ".join(rule.geos))
    if rule.subnets:
        parts.append("subnets " + ", ".join(str(net) for net in rule.subnets))
    return f"rule {index} ({'; '.join(parts) if parts else 'catch-all'})"


def _static_default(compiler: _Compiler, values: Sequence[IPv4Address | IPv6Address | str]) -> Outcome | None:
    members = []
    for value in values:
        text = str(value)
        try:
            rdata = compiler.rdata(text)
        except ValueError:
            continue
        members.append(make_member(text, compiler.code, compiler.ttl, rdata, 1))
    if not members:
        return None
    return build_outcome(members, pool=None, reason="no rule matched: static values", fixed=True)


def compile_dynamic(
    rdtype: str,
    spec: DynamicSpec,
    *,
    values: Sequence[IPv4Address | IPv6Address | str] = (),
    ttl: int,
    tenant: str,
    health: HealthView,
    memo: CompileMemo | None = None,
) -> DynamicAnswer | None:
    """Compile one dynamic record set of `tenant`; None when nothing in it can ever be answered.

    `values` are the record set's static values (the answer when no rule matches). `memo` carries
    what repeats across record sets of one compile run.
    """
    compiler = _Compiler(
        rdtype,
        spec,
        ttl=ttl,
        tenant=tenant,
        health=health,
        memo=CompileMemo() if memo is None else memo,
    )
    rules = tuple(
        compiled
        for compiled in (compiler.rule(index, rule) for index, rule in enumerate(spec.rules))
        if compiled is not None
    )
    static_default = _static_default(compiler, values)
    if not rules and static_default is None:
        return None
    simple: Outcome | None = None
    simple_reason = ""
    if len(rules) == 1 and rules[0].catch_all and rules[0].outcome is not None:
        simple = rules[0].outcome
        simple_reason = rules[0].reason
    max_answers = 1 if rdtype == "CNAME" else spec.max_answers
    return DynamicAnswer(
        rdtype=compiler.code,
        ttl=ttl,
        max_answers=max_answers,
        sticky=spec.sticky,
        rules=rules,
        static_default=static_default,
        simple=simple,
        simple_reason=simple_reason,
        health_keys=frozenset(compiler.health_keys),
    )
