"""What this node should announce, from the anycast specs, health, the DNS self-check and a drain.

Pure: the driver feeds in what it observed and gets back the exact set of routes ExaBGP must hold;
`changes` turns the difference to what ExaBGP holds now into ordered commands.

States (each with its own MED, communities and AS-path prepend in the spec):
  up        the service is healthy: announce with the `up` attributes.
  draining  an operator asked this node to drain: announce with the `draining` attributes (less
            preferred, so routers move traffic elsewhere) for `drain_seconds`, then withdraw.
  disabled  the service is not healthy (DNS self-check failing, or no backend of the VIP up):
            withdraw, unless `withdraw_when_disabled` is false, then announce as a last resort
            with the `disabled` attributes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from anycast.render import Action, Route
from gslb.engine.health_view import member_health_key
from gslb.policy.anycast import AnycastSpec, RouteAttributes
from gslb.policy.l4 import VipSpec

State = Literal["up", "draining", "disabled", "withdrawn"]


@dataclass(frozen=True, slots=True)
class Observed:
    """Everything the decision depends on, as the driver saw it at one instant."""

    dns_ok: bool
    health: Mapping[str, bool]  # member_health_key -> up; a missing key is unknown (counts as up)
    vips: Mapping[str, VipSpec]  # "tenant/name" -> spec
    drain_elapsed: float | None = None  # seconds since the drain began, None when not draining


@dataclass(frozen=True, slots=True)
class Decision:
    spec: AnycastSpec
    state: State
    healthy: bool
    reason: str
    route: Route | None  # None: withdrawn


def vip_is_healthy(vip: VipSpec, health: Mapping[str, bool]) -> bool:
    """A VIP can serve while one real with weight > 0 is up (no check, or a state not down)."""
    for real in vip.reals:
        if real.weight == 0:
            continue  # a drained real takes no new flows: it cannot carry the announcement
        if real.health_check is None:
            return True
        # Unknown health fails open, as in DNS answers: a VIP whose checker has not reported yet
        # is announced rather than black-holed at start.
        if health.get(member_health_key(vip.tenant, real.health_check, str(real.address)), True):
            return True
    return False


def _service_health(spec: AnycastSpec, observed: Observed) -> tuple[bool, str]:
    if spec.service == "dns":
        return observed.dns_ok, "DNS self-check " + ("answers" if observed.dns_ok else "fails")
    vip = observed.vips.get(f"{spec.tenant}/{spec.vip}")
    if vip is None:
        return False, f"VIP {spec.vip!r} is not in the store"
    if vip_is_healthy(vip, observed.health):
        return True, f"VIP {spec.vip!r} has healthy reals"
    return False, f"VIP {spec.vip!r} has no healthy real"


def state_of(spec: AnycastSpec, observed: Observed) -> tuple[State, bool, str]:
    healthy, reason = _service_health(spec, observed)
    if not healthy:
        return "disabled", False, reason
    if observed.drain_elapsed is None:
        return "up", True, reason
    if observed.drain_elapsed < spec.drain_seconds:
        return "draining", True, f"draining for {spec.drain_seconds:g}s"
    return "withdrawn", True, "drained"


def route_for(spec: AnycastSpec, state: State, *, local_as: int) -> Route | None:
    if state == "withdrawn" or (state == "disabled" and spec.withdraw_when_disabled):
        return None
    attributes: RouteAttributes = getattr(spec.states, state)
    # An explicit AS path replaces ExaBGP's default (the local AS once on eBGP): prepending N
    # times means N + 1 copies. Sessions to the router are eBGP, as anycast deployments use.
    as_path = (local_as,) * (attributes.as_path_prepend + 1) if attributes.as_path_prepend else ()
    return Route(
        prefix=spec.prefix,
        next_hop=spec.next_hop,
        med=attributes.med,
        local_preference=attributes.local_preference,
        communities=attributes.communities,
        as_path=as_path,
    )


def decide(specs: Iterable[AnycastSpec], observed: Observed, *, local_as: int) -> list[Decision]:
    decisions = []
    for spec in sorted(specs, key=lambda item: item.doc_name()):
        state, healthy, reason = state_of(spec, observed)
        decisions.append(Decision(spec, state, healthy, reason, route_for(spec, state, local_as=local_as)))
    return decisions


def desired_routes(decisions: Iterable[Decision]) -> dict[str, Route]:
    """Prefix text -> route for every announcement (validation keeps prefixes unique)."""
    return {str(d.route.prefix): d.route for d in decisions if d.route is not None}


def changes(current: Mapping[str, Route], desired: Mapping[str, Route]) -> list[tuple[Action, Route]]:
    """Commands taking ExaBGP from `current` to `desired`: withdrawals first, then (re)announcements.

    Withdrawing first means a node that loses one service never announces more than it can serve,
    even for the moment between two commands.
    """
    commands: list[tuple[Action, Route]] = []
    for prefix in sorted(current):
        if prefix not in desired:
            commands.append(("withdraw", current[prefix]))
    for prefix in sorted(desired):
        if current.get(prefix) != desired[prefix]:
            commands.append(("announce", desired[prefix]))
    return commands
