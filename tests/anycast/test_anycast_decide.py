"""The pure decision: states from health, self-check and drain; commands from the difference."""

from __future__ import annotations

from ipaddress import ip_network

from anycast.decide import Observed, changes, decide, desired_routes, vip_is_healthy
from anycast.hysteresis import Hysteresis, step
from anycast.messages import adj_rib_out_prefixes, classify, neighbor_state
from anycast.render import Route
from gslb.policy.anycast import AnycastSpec
from gslb.policy.l4 import VipSpec

DNS = AnycastSpec.model_validate(
    {"tenant": "acme", "name": "dns", "prefix": "192.0.2.53/32", "service": "dns", "drain_seconds": 10}
)
WEB = AnycastSpec.model_validate(
    {"tenant": "acme", "name": "web", "prefix": "192.0.2.80/32", "service": "vip", "vip": "web"}
)
VIP = VipSpec.model_validate(
    {
        "tenant": "acme",
        "name": "web",
        "address": "192.0.2.80",
        "port": 80,
        "reals": [
            {"address": "10.0.0.1", "health_check": "web"},
            {"address": "10.0.0.2", "health_check": "web"},
            {"address": "10.0.0.3", "weight": 0},
        ],
    }
)
VIPS = {"acme/web": VIP}


def _states(observed: Observed) -> dict[str, str]:
    return {d.spec.name: d.state for d in decide([DNS, WEB], observed, local_as=65001)}


def test_healthy_services_are_up_and_announced_with_up_attributes() -> None:
    decisions = decide([WEB, DNS], Observed(dns_ok=True, health={}, vips=VIPS), local_as=65001)
    assert [d.spec.name for d in decisions] == ["dns", "web"]  # sorted: stable command order
    assert {d.state for d in decisions} == {"up"}
    assert set(desired_routes(decisions)) == {"192.0.2.53/32", "192.0.2.80/32"}


def test_dns_prefix_follows_the_self_check_only() -> None:
    observed = Observed(dns_ok=False, health={}, vips=VIPS)
    assert _states(observed) == {"dns": "disabled", "web": "up"}
    assert set(desired_routes(decide([DNS, WEB], observed, local_as=65001))) == {"192.0.2.80/32"}


def test_vip_needs_one_real_up_and_drained_reals_do_not_count() -> None:
    down = {"acme/web/10.0.0.1": False, "acme/web/10.0.0.2": False}
    assert not vip_is_healthy(VIP, down)  # 10.0.0.3 has no check but weight 0: it takes no flows
    assert vip_is_healthy(VIP, {"acme/web/10.0.0.1": False})  # 10.0.0.2 unknown: fails open
    assert vip_is_healthy(VIP, {**down, "acme/web/10.0.0.2": True})
    assert _states(Observed(dns_ok=True, health=down, vips=VIPS))["web"] == "disabled"


def test_a_vip_missing_from_the_store_is_not_announced() -> None:
    assert _states(Observed(dns_ok=True, health={}, vips={}))["web"] == "disabled"


def test_drain_is_less_preferred_first_then_withdrawn_after_drain_seconds() -> None:
    early = decide([DNS], Observed(dns_ok=True, health={}, vips=VIPS, drain_elapsed=9.9), local_as=65001)
    assert early[0].state == "draining"
    route = early[0].route
    assert route is not None and route.med == 1000 and route.as_path == (65001,) * 4
    late = decide([DNS], Observed(dns_ok=True, health={}, vips=VIPS, drain_elapsed=10.0), local_as=65001)
    assert late[0].state == "withdrawn" and late[0].route is None


def test_an_unhealthy_service_is_not_kept_by_draining() -> None:
    observed = Observed(dns_ok=False, health={}, vips=VIPS, drain_elapsed=1.0)
    assert decide([DNS], observed, local_as=65001)[0].route is None


def test_last_resort_route_when_withdraw_when_disabled_is_false() -> None:
    keep = DNS.model_copy(update={"withdraw_when_disabled": False})
    (decision,) = decide([keep], Observed(dns_ok=False, health={}, vips=VIPS), local_as=65001)
    assert decision.state == "disabled"
    assert decision.route is not None and decision.route.med == 2000 and len(decision.route.as_path) == 7


def test_changes_withdraw_first_and_skip_what_ExaBGP_already_holds() -> None:
    a = Route(ip_network("192.0.2.53/32"))
    b = Route(ip_network("192.0.2.80/32"))
    b_draining = Route(ip_network("192.0.2.80/32"), med=1000)
    c = Route(ip_network("192.0.2.90/32"))
    assert changes({"192.0.2.53/32": a}, {"192.0.2.53/32": a}) == []
    assert changes(
        {"192.0.2.53/32": a, "192.0.2.80/32": b},
        {"192.0.2.80/32": b_draining, "192.0.2.90/32": c},
    ) == [("withdraw", a), ("announce", b_draining), ("announce", c)]


def test_hysteresis_first_result_decides_then_rise_and_fall() -> None:
    state = step(Hysteresis(), True, rise=2, fall=3)
    assert state.up is True
    for expected in (True, True, False):  # three failures to fall
        state = step(state, False, rise=2, fall=3)
        assert state.up is expected
    state = step(state, True, rise=2, fall=3)
    assert state.up is False
    state = step(state, False, rise=2, fall=3)  # a failure resets the rise streak
    state = step(state, True, rise=2, fall=3)
    assert state.up is False
    assert step(state, True, rise=2, fall=3).up is True
    assert step(Hysteresis(), False, rise=2, fall=3).up is False


def test_exabgp_messages_are_classified() -> None:
    assert classify("done\n").kind == "ack" and classify("error").text == "error"
    assert classify("shutdown").kind == "shutdown"
    notice = '{"exabgp": "5.0.0", "type": "notification", "notification": "shutdown"}'
    assert classify(notice).kind == "shutdown"
    state = (
        '{ "exabgp": "5.0.0", "type": "state", "neighbor": { "address": { "local": "198.51.100.2",'
        ' "peer": "198.51.100.1" }, "asn": { "local": 65001, "peer": 65000 }, "state": "up" } }'
    )
    message = classify(state)
    assert message.kind == "event" and message.event is not None
    assert neighbor_state(message.event) == ("198.51.100.1", "up")
    assert classify("{not json").kind == "text"
    assert adj_rib_out_prefixes(
        [
            "198.51.100.1 ipv4 unicast 192.0.2.53/32 next-hop 198.51.100.2",
            "198.51.100.5 ipv4 unicast 192.0.2.53/32 next-hop 198.51.100.6",
            "198.51.100.1 ipv6 unicast 2001:db8::53/128 next-hop 2001:db8::1",
            "something else",
        ]
    ) == {"192.0.2.53/32", "2001:db8::53/128"}
