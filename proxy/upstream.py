"""Upstream members at run time: keep-alive connection pools, circuit breakers, passive health.

A member's runtime state is keyed by "tenant/pool/address:port" and outlives route reloads: a
reload that keeps a member keeps its pooled connections, counters and ejection; a member that
disappears is drained (idle connections closed now, busy ones when their exchange ends).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from proxy.balance import Picker, make_picker
from proxy.limits import OutlierState, RetryBudget
from proxy.table import MemberConfig, PoolConfig

if TYPE_CHECKING:
    from proxy.upstream_conn import UpstreamConnection

log = logging.getLogger(__name__)

EjectionReporter = Callable[[str, bool, str, float], None]  # member key, ejected, reason, seconds


class Member:
    """One upstream address:port of one pool."""

    __slots__ = (
        "active",
        "address",
        "base_ejection",
        "busy",
        "config",
        "connecting",
        "draining",
        "idle",
        "key",
        "outlier",
        "port",
        "weight",
    )

    def __init__(self, config: MemberConfig) -> None:
        self.key = config.key
        self.address = config.address
        self.port = config.port
        self.weight = config.weight
        self.config = config
        self.active = 0  # requests in flight (least_connections)
        self.busy = 0  # connections carrying an exchange
        self.connecting = 0
        self.idle: deque[UpstreamConnection] = deque()
        self.outlier = OutlierState()
        self.draining = False
        self.base_ejection = 10.0

    @property
    def connections(self) -> int:
        return self.busy + self.connecting

    def take_idle(self) -> UpstreamConnection | None:
        idle = self.idle
        while idle:
            conn = idle.pop()  # most recently used: the likeliest to still be open upstream
            if conn.usable():
                return conn
        return None

    def put_idle(self, conn: UpstreamConnection, limit: int, now: float) -> bool:
        if self.draining or len(self.idle) >= limit:
            return False
        conn.idle_since = now
        self.idle.append(conn)
        return True

    def close_idle(self, older_than: float | None = None) -> None:
        keep: deque[UpstreamConnection] = deque()
        for conn in self.idle:
            if older_than is not None and conn.idle_since >= older_than:
                keep.append(conn)
            else:
                conn.close()
        self.idle = keep


class Pool:
    """A pool as configured now, over shared Member objects; rebuilt on every reload of its spec."""

    def __init__(self, config: PoolConfig, members: tuple[Member, ...]) -> None:
        self.config = config
        self.key = config.key
        self.spec = config.spec
        self.members = members
        self.picker: Picker = make_picker(
            config.spec.algorithm, [m.key for m in members], [m.weight for m in members]
        )
        self.by_cookie = {_cookie_value(m): index for index, m in enumerate(members)}
        self.unhealthy = any(not m.config.healthy for m in members)
        self.pending: deque[Any] = deque()  # exchanges waiting for a connection (max_pending)
        # Whether requests must be looked at for a hash key or an affinity cookie.
        self.affinity = config.spec.hash_on is not None or config.spec.sticky_cookie is not None
        self.retry_budget: RetryBudget | None = None

    def cookie_of(self, index: int) -> bytes:
        return _cookie_value(self.members[index]).encode()

    def usable_mask(self, now: float, exclude: Collection[int] = ()) -> list[bool] | None:
        """Which members may take a request now; None when all may (the common case, no list built)."""
        members = self.members
        limit = self.spec.max_connections
        mask = None
        for index, member in enumerate(members):
            if (
                index in exclude
                or not member.config.healthy
                or member.outlier.ejected_until > now
                or member.connections >= limit
            ):
                if mask is None:
                    mask = [True] * len(members)
                mask[index] = False
        return mask

    def pick(self, now: float, key: bytes | None, exclude: Collection[int]) -> int | None:
        """A member for a request, or None when every member is down, ejected, full or excluded.

        Health from the store is obeyed unless every member is down: then (panic mode, as DNS
        fails open) members are tried regardless of health, still within their limits.
        """
        mask = self.usable_mask(now, exclude)
        if mask is None:
            return self.picker.pick(self.members, None, key)
        choice = self.picker.pick(self.members, mask, key)
        if choice is None and self.unhealthy:
            limit = self.spec.max_connections
            panic = [
                index not in exclude and member.outlier.ejected_until <= now and member.connections < limit
                for index, member in enumerate(self.members)
            ]
            choice = self.picker.pick(self.members, panic, key)
        return choice

    def ejected_count(self, now: float) -> int:
        return sum(1 for member in self.members if member.outlier.ejected_until > now)


def _cookie_value(member: Member) -> str:
    # Opaque to clients, stable across restarts and nodes: a hash of the member's address.
    from proxy.balance import hash64

    return f"{hash64(member.key.encode()):016x}"


class Upstreams:
    """Every pool and member of the current table; survives reloads member by member."""

    def __init__(self, reporter: EjectionReporter | None = None) -> None:
        self.members: dict[str, Member] = {}
        self.pools: dict[str, Pool] = {}
        self.draining: set[Member] = set()
        self.reporter = reporter
        self.ejections = 0  # total, for metrics

    def update(self, pools: Mapping[str, PoolConfig]) -> None:
        members: dict[str, Member] = {}
        new_pools: dict[str, Pool] = {}
        for key, config in pools.items():
            runtime = []
            for member_config in config.members:
                member = self.members.get(member_config.key) or members.get(member_config.key)
                if member is None:
                    member = Member(member_config)
                else:
                    member.config = member_config
                    member.weight = member_config.weight
                    member.draining = False
                member.base_ejection = config.spec.outlier.base_ejection
                members[member.key] = member
                runtime.append(member)
            old = self.pools.get(key)
            if old is not None and old.config == config:
                new_pools[key] = old  # unchanged: keep the picker's state (round-robin position)
                continue
            pool = Pool(config, tuple(runtime))
            if old is not None:
                pool.pending = old.pending
                pool.retry_budget = old.retry_budget
            new_pools[key] = pool
        for key, member in self.members.items():
            if key not in members:
                member.draining = True
                member.close_idle()
                if member.busy:
                    self.draining.add(member)
        self.members = members
        self.pools = new_pools

    def sweep(self, now: float, idle_timeout: float) -> None:
        """Close pooled connections idle too long; forget drained members."""
        horizon = now - idle_timeout
        for member in self.members.values():
            if member.idle and member.idle[0].idle_since < horizon:
                member.close_idle(older_than=horizon)
            member.outlier.forgive(now, member.base_ejection)
        self.draining = {member for member in self.draining if member.busy}

    def close(self) -> None:
        for member in self.members.values():
            member.draining = True
            member.close_idle()

    def record_result(
        self, pool: Pool, member: Member, now: float, *, status: int, error: str | None
    ) -> None:
        """Passive health: count answers and errors of a member, eject it when a limit is crossed."""
        outlier = member.outlier
        spec = pool.spec.outlier
        if error is not None:
            crossed = outlier.connect_error(spec.consecutive_errors)
            reason = f"{outlier.consecutive_errors} consecutive errors ({error})"
        elif status >= 500:
            crossed = outlier.server_error(spec.consecutive_5xx)
            reason = f"{outlier.consecutive_5xx} consecutive {status} answers"
        else:
            outlier.success()
            return
        if not crossed or outlier.ejected_until > now:
            return
        # Never eject more than max_ejected_percent of a pool: ejecting everything helps no one.
        if pool.ejected_count(now) >= len(pool.members) * spec.max_ejected_percent // 100:
            return
        duration = outlier.eject(now, spec.base_ejection, spec.max_ejection)
        self.ejections += 1
        member.close_idle()
        log.warning("ejected upstream %s for %.1f s: %s", member.key, duration, reason)
        if self.reporter is not None:
            self.reporter(member.key, True, reason, duration)
