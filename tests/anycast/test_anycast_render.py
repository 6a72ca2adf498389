"""Golden tests of the one function that writes ExaBGP command lines.

The expected lines live in golden/exabgp_commands.txt (a case name, then its line). After an
intended change of the rendering, regenerate with GSLB_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from anycast.decide import route_for
from anycast.render import RenderError, Route, render
from gslb.policy.anycast import AnycastSpec

GOLDEN = Path(__file__).with_name("golden") / "exabgp_commands.txt"


def _spec(**fields: object) -> AnycastSpec:
    return AnycastSpec.model_validate({"tenant": "acme", "name": "dns", "service": "dns", **fields})


def _cases() -> list[tuple[str, str]]:
    dns4 = _spec(prefix="192.0.2.53/32")
    dns6 = _spec(prefix="2001:db8::53/128", next_hop="2001:db8::1")
    rich = _spec(
        prefix="192.0.2.53/32",
        next_hop="198.51.100.2",
        states={
            "up": {"med": 10, "local_preference": 200, "communities": ["65000:53", "no-export", "64512:1:2"]},
            "draining": {"med": 500, "as_path_prepend": 2, "communities": ["graceful-shutdown"]},
            "disabled": {"med": 4294967295, "as_path_prepend": 16, "communities": ["blackhole", "no-peer"]},
        },
        withdraw_when_disabled=False,
    )
    wide = _spec(prefix="198.51.100.0/24", host_route=False)
    cases = []
    for name, spec in (("dns4", dns4), ("dns6", dns6), ("rich", rich), ("wide", wide)):
        for state in ("up", "draining", "disabled"):
            route = route_for(spec, state, local_as=4200000000)
            if route is not None:
                cases.append((f"{name} announce {state}", render("announce", route)))
        up = route_for(spec, "up", local_as=65001)
        assert up is not None
        cases.append((f"{name} withdraw", render("withdraw", up)))
    return cases


def test_rendered_commands_match_golden_file() -> None:
    text = "".join(f"# {name}\n{line}\n" for name, line in _cases())
    if os.environ.get("GSLB_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_disabled_state_is_a_withdrawal_unless_the_spec_keeps_a_last_resort_route() -> None:
    assert route_for(_spec(prefix="192.0.2.53/32"), "disabled", local_as=65001) is None
    assert route_for(_spec(prefix="192.0.2.53/32"), "withdrawn", local_as=65001) is None


def test_duplicate_communities_are_sent_once_and_names_become_numbers() -> None:
    route = Route(ip_network("192.0.2.53/32"), communities=("no-export", "65535:65281", "1:2:3", "1:2:3"))
    assert render("announce", route) == (
        "announce route 192.0.2.53/32 next-hop self community [65535:65281] large-community [1:2:3]"
    )


@pytest.mark.parametrize(
    "route",
    [
        Route(ip_network("192.0.2.53/32"), communities=("65000:1\nannounce route 0.0.0.0/0",)),
        Route(ip_network("192.0.2.53/32"), communities=("65000:\u0661",)),  # an Arabic-Indic digit
        Route(ip_network("192.0.2.53/32"), communities=("1:2:3:4",)),
    ],
)
def test_values_that_slipped_past_validation_are_refused(route: Route) -> None:
    with pytest.raises(RenderError):
        render("announce", route)


def test_unknown_action_is_refused() -> None:
    with pytest.raises(RenderError):
        render("replace", Route(ip_network("192.0.2.53/32"), next_hop=ip_address("198.51.100.2")))  # type: ignore[arg-type]
