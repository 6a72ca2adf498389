"""plan_tables: health to weights, stable indexes, and what is left out (with the reason)."""

from __future__ import annotations

from bpf.plan import Limits, plan_tables
from bpf.structs import NO_REAL, VIP_F_L2
from gslb.engine.health_view import member_health_key
from gslb.policy.l4 import VipSpec

MACS = {f"10.0.0.{i}": bytes([2, 0, 0, 0, 0, i]) for i in range(1, 10)}
LIMITS = Limits(max_vips=4, max_reals=8, ring_max=4099)


def vip(
    name: str = "web", reals: tuple[str, ...] = ("10.0.0.1", "10.0.0.2", "10.0.0.3"), **extra: object
) -> VipSpec:
    body = {
        "tenant": "t",
        "name": name,
        "address": "10.100.0.1",
        "port": 80,
        "reals": [{"address": a, "weight": 100, "health_check": "http"} for a in reals],
        "maglev_table_size": 251,
    }
    body.update(extra)
    return VipSpec.model_validate(body)


def test_a_real_down_by_health_gets_weight_zero_and_no_slot() -> None:
    health = {member_health_key("t", "http", "10.0.0.2"): False}
    tables = plan_tables([vip()], health, MACS, encap_src="10.0.0.254", limits=LIMITS)
    entry = tables.vips[("10.100.0.1", 80, 6)]
    assert dict(entry.weights) == {"10.0.0.1": 100, "10.0.0.2": 0, "10.0.0.3": 100}
    down = tables.real_index("10.0.0.2")
    assert down in tables.reals  # still present: its sticky flows stay
    assert down not in entry.ring and NO_REAL not in entry.ring


def test_indexes_are_stable_across_plans() -> None:
    first = plan_tables([vip()], {}, MACS, encap_src="10.0.0.254", limits=LIMITS)
    second = plan_tables(
        [vip(reals=("10.0.0.3", "10.0.0.4"))], {}, MACS, encap_src="10.0.0.254", limits=LIMITS, previous=first
    )
    assert second.real_index("10.0.0.3") == first.real_index("10.0.0.3")
    assert second.real_index("10.0.0.4") not in {first.real_index(a) for a in ("10.0.0.3",)}
    assert set(r.address for r in second.reals.values()) == {"10.0.0.3", "10.0.0.4"}
    assert second.vips[("10.100.0.1", 80, 6)].vip_num == first.vips[("10.100.0.1", 80, 6)].vip_num


def test_l2_flag_and_problems_are_reported() -> None:
    specs = [
        vip("l2", forwarding="l2", address="10.100.0.2"),
        vip("v6", address="2001:db8::1", reals=("2001:db8::2",)),
        vip("big", address="10.100.0.3", maglev_table_size=65537),
        vip("nomac", address="10.100.0.4", reals=("10.0.0.99",)),
        vip("dup", address="10.100.0.2", forwarding="l2"),
    ]
    tables = plan_tables(specs, {}, MACS, encap_src="10.0.0.254", limits=LIMITS)
    assert tables.vips[("10.100.0.2", 80, 6)].flags == VIP_F_L2
    text = "\n".join(tables.problems)
    assert "real 2001:db8::2 is IPv6 but the forwarder has no IPv6 tunnel source" in text
    assert "t/big: maglev_table_size 65537 exceeds" in text
    assert "no next-hop MAC for real 10.0.0.99" in text
    assert "is also vip" in text
    # the IPv6 VIP stays (its only real left out: no ring), like the VIP whose real has no MAC
    assert set(tables.vips) == {("10.100.0.2", 80, 6), ("10.100.0.4", 80, 6), ("2001:db8::1", 80, 6)}
    assert set(tables.vips[("2001:db8::1", 80, 6)].ring) == {NO_REAL}
    assert set(tables.vips[("10.100.0.4", 80, 6)].ring) == {NO_REAL}  # its only real had no MAC


def test_a_real_shared_by_two_vips_has_one_entry_per_vip() -> None:
    specs = [vip("a"), vip("b", address="10.100.0.2", reals=("10.0.0.1",))]
    first = plan_tables(specs, {}, MACS, encap_src="10.0.0.254", limits=LIMITS)
    shared = first.real_index("10.0.0.1", "t/b")
    assert shared != first.real_index("10.0.0.1", "t/a")
    # removed from b only: b's entry goes (its sticky flows re-pick), a's stays
    second = plan_tables([specs[0]], {}, MACS, encap_src="10.0.0.254", limits=LIMITS, previous=first)
    assert shared not in second.reals
    assert second.real_index("10.0.0.1", "t/a") == first.real_index("10.0.0.1", "t/a")


def test_ipv6_vips_and_reals_are_served_given_an_ipv6_tunnel_source() -> None:
    macs = {**MACS, "2001:db8::2": bytes([2, 0, 0, 0, 0, 0x62])}
    spec = vip("v6", address="2001:db8::1", reals=("2001:db8::2", "10.0.0.1"))
    tables = plan_tables([spec], {}, macs, encap_src="10.0.0.254", encap_src6="2001:db8::fe", limits=LIMITS)
    assert tables.problems == ()
    entry = tables.vips[("2001:db8::1", 80, 6)]
    assert {tables.reals[i].address for i in set(entry.ring)} == {"2001:db8::2", "10.0.0.1"}
    assert tables.encap_src6 == "2001:db8::fe"
