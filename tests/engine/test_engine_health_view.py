"""Health keys and member state: 'obey' follows the view, unknown fails open, status forces."""

from __future__ import annotations

from engine_helpers import dynamic_answer

from gslb.engine import member_health_key, member_is_up
from gslb.policy import PoolMemberSpec

KEY = member_health_key("acme", "web", "192.0.2.1")


def member(**fields: object) -> PoolMemberSpec:
    return PoolMemberSpec.model_validate({"value": "192.0.2.1", "health_check": "web", **fields})


def test_keys_are_canonical_per_target() -> None:
    assert KEY == "acme/web/192.0.2.1"
    assert member_health_key("acme", "web", "2001:DB8:0::1") == "acme/web/2001:db8::1"
    assert member_health_key("acme", "web", "Web1.Example.COM.") == "acme/web/web1.example.com"
    assert member_health_key("acme", "web", "web1.example.com") == "acme/web/web1.example.com"


def test_obey_follows_the_view_and_unknown_fails_open() -> None:
    assert member_is_up(member(), "acme", {KEY: True})
    assert not member_is_up(member(), "acme", {KEY: False})
    assert member_is_up(member(), "acme", {})
    assert member_is_up(member(), "acme", {member_health_key("other", "web", "192.0.2.1"): False})


def test_status_forces_the_state_and_no_check_means_up() -> None:
    assert member_is_up(member(status="up"), "acme", {KEY: False})
    assert not member_is_up(member(status="down"), "acme", {KEY: True})
    assert member_is_up(member(health_check=None), "acme", {KEY: False})


def test_the_probe_target_names_the_state_when_it_differs_from_the_value() -> None:
    probed = member(probe="10.0.0.1")
    assert not member_is_up(probed, "acme", {member_health_key("acme", "web", "10.0.0.1"): False})
    assert member_is_up(probed, "acme", {KEY: False})


def test_compiled_pools_answer_only_members_that_are_up() -> None:
    values = [
        {"value": "192.0.2.1", "health_check": "web"},  # obey, down in the view
        {"value": "192.0.2.2", "health_check": "web"},  # obey, unknown -> up
        {"value": "192.0.2.3", "health_check": "web", "status": "up"},  # forced up despite the view
        {"value": "192.0.2.4", "health_check": "web", "status": "down"},  # forced down
        {"value": "192.0.2.5"},  # no check
        {"value": "192.0.2.6", "health_check": "web", "probe": "10.0.0.6"},  # probe down
    ]
    health = {
        KEY: False,
        member_health_key("acme", "web", "192.0.2.3"): False,
        member_health_key("acme", "web", "10.0.0.6"): False,
    }
    answer = dynamic_answer({"pools": {"p": {"values": values}}, "rules": [{"pool": "p"}]}, health=health)
    assert answer.simple is not None
    assert answer.simple.values == ("192.0.2.2", "192.0.2.3", "192.0.2.5")
    # Forced members do not depend on health; everything 'obey' with a check does.
    assert answer.health_keys == frozenset(
        member_health_key("acme", "web", target) for target in ("192.0.2.1", "192.0.2.2", "10.0.0.6")
    )
