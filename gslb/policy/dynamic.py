"""Dynamic (GSLB) answers in the shape of octoDNS dynamic records, plus what octoDNS lacks.

A dynamic record set holds named pools of values; ordered rules send clients (by geography or
client subnet) to a pool; a pool whose members are all unhealthy hands over to its fallback pool.
Additions over octoDNS: `nearest` rules (great-circle distance to pool locations), `max_answers`,
sticky selection by client subnet, explicit `on_all_down`, and a health check per member whose
probe target may differ from the answered value.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gslb.policy.base import IPNetwork, Model, ObjectName, PoolName

MemberStatus = Literal["up", "down", "obey"]
OnAllDown = Literal["fail_open", "fail_closed", "fallback_pool"]


class GeoLocation(Model):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class PoolMemberSpec(Model):
    value: str = Field(description="answered address (A/AAAA) or target name (CNAME)")
    weight: int = Field(1, ge=1, le=1000, description="relative share of answers within the pool")
    status: MemberStatus = Field(
        "obey", description="'obey' follows the health check; 'up'/'down' force the state"
    )
    health_check: ObjectName | None = Field(None, description="name of a health check of the same tenant")
    probe: str | None = Field(
        None, description="address or host name the health check probes, when it differs from value"
    )


class PoolSpec(Model):
    values: tuple[PoolMemberSpec, ...] = Field(min_length=1)
    fallback: PoolName | None = Field(None, description="pool to use when no member of this one is healthy")
    location: GeoLocation | None = Field(None, description="where the pool is, for `nearest` rules")


class RuleSpec(Model):
    """One routing rule. A rule with neither geos nor subnets matches every client (catch-all)."""

    pool: PoolName | None = None
    nearest: tuple[PoolName, ...] | None = Field(
        None, description="candidate pools; the one closest to the client is used, the next on failure"
    )
    geos: tuple[str, ...] = Field((), description="octoDNS geo codes: 'EU', 'NA-US', 'NA-US-CA'")
    subnets: tuple[IPNetwork, ...] = Field((), description="client networks (CIDR)")

    @model_validator(mode="after")
    def _one_target(self) -> RuleSpec:
        if (self.pool is None) == (self.nearest is None):
            raise ValueError("a rule needs exactly one of 'pool' or 'nearest'")
        if self.nearest is not None and not self.nearest:
            raise ValueError("'nearest' must list at least one pool")
        return self

    @property
    def is_catch_all(self) -> bool:
        return not self.geos and not self.subnets

    @property
    def target_pools(self) -> tuple[str, ...]:
        return (self.pool,) if self.pool is not None else tuple(self.nearest or ())


class StickySpec(Model):
    """Clients in the same subnet get the same answer (consistent hash), until health changes it."""

    ipv4_prefix: int = Field(24, ge=8, le=32)
    ipv6_prefix: int = Field(56, ge=16, le=128)


class DynamicSpec(Model):
    pools: dict[PoolName, PoolSpec] = Field(min_length=1)
    rules: tuple[RuleSpec, ...] = Field(min_length=1)
    max_answers: int | None = Field(
        1, ge=1, le=64, description="values per answer; null answers every healthy member of the pool"
    )
    sticky: StickySpec | None = None
    on_all_down: OnAllDown = Field(
        "fail_open",
        description=(
            "when no pool in the chain has a healthy member: 'fail_open' answers the first pool's "
            "members regardless of health, 'fail_closed' answers no data, 'fallback_pool' answers "
            "all_down_pool"
        ),
    )
    all_down_pool: PoolName | None = None

    @model_validator(mode="after")
    def _all_down_pool_matches_policy(self) -> DynamicSpec:
        if self.on_all_down == "fallback_pool" and self.all_down_pool is None:
            raise ValueError("on_all_down 'fallback_pool' needs all_down_pool naming the pool to answer")
        if self.on_all_down != "fallback_pool" and self.all_down_pool is not None:
            raise ValueError("all_down_pool is only used with on_all_down 'fallback_pool'")
        return self
