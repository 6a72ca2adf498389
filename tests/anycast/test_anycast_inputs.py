"""What the helper takes from the store: specs, VIPs, health; bad documents left out and reported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anycast.inputs import AnycastInputs


@dataclass(frozen=True)
class Doc:
    body: dict[str, Any]


DNS = {"tenant": "acme", "name": "dns", "prefix": "192.0.2.53/32", "service": "dns"}
BAD = {**DNS, "name": "bad", "states": {"up": {"communities": ["65000:1\nannounce route 0.0.0.0/0"]}}}


def test_full_load_then_incremental_changes() -> None:
    docs: dict[str, Doc] = {
        "anycast:acme/dns": Doc(DNS),
        "anycast:acme/bad": Doc(BAD),
        "health:acme/web/10.0.0.1": Doc({"state": "down"}),
        "health:acme/web/10.0.0.2": Doc({"state": "disabled"}),
        "health:acme/web/10.0.0.3": Doc({"state": "up"}),
        "zone:example.com.": Doc({"tenant": "acme", "name": "example.com."}),
    }
    inputs = AnycastInputs()
    problems = inputs.apply(docs, None)
    assert set(inputs.specs) == {"acme/dns"}
    down, disabled, up = "acme/web/10.0.0.1", "acme/web/10.0.0.2", "acme/web/10.0.0.3"
    assert inputs.health == {down: False, disabled: False, up: True}
    (problem,) = problems
    assert problem.startswith("ignoring stored document anycast:acme/bad:")
    assert "not a BGP community" in problem
    assert set(inputs.ignored) == {"anycast:acme/bad"}

    docs["anycast:acme/bad"] = Doc({**BAD, "states": {}})  # fixed
    del docs[f"health:{down}"]
    docs[f"health:{disabled}"] = Doc({"state": "up"})
    assert inputs.apply(docs, {"anycast:acme/bad", f"health:{down}", f"health:{disabled}"}) == []
    assert set(inputs.specs) == {"acme/dns", "acme/bad"} and inputs.ignored == {}
    assert inputs.health == {disabled: True, up: True}

    del docs["anycast:acme/dns"]
    inputs.apply(docs, {"anycast:acme/dns"})
    assert set(inputs.specs) == {"acme/bad"}
