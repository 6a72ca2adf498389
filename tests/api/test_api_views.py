"""Read-only views over real HTTP: health states and dynamic decisions, each only for its own tenant."""

from __future__ import annotations

from gslb.engine.health_view import member_health_key
from gslb.store import DocRef, Put
from tests.api.conftest import Api, make_tenant, make_zone

Z = "/v1/tenants/acme/zones/example.com."


async def test_health_states_are_listed_per_tenant(api: Api) -> None:
    c = api.client
    await make_tenant(c, "acme")
    await make_tenant(c, "other")
    keys = [member_health_key("acme", "web", f"10.0.0.{i}") for i in (1, 2, 3)]
    hidden = member_health_key("other", "web", "10.9.9.9")
    await api.store.commit(
        [
            Put(DocRef("health", key), "", {"state": state})
            for key, state in zip(keys, ("up", "down", "up"), strict=True)
        ]
        + [Put(DocRef("health", hidden), "", {"state": "down"})]
    )
    page = await c.get("/v1/tenants/acme/health", params={"limit": "2"})
    assert page.status == 200
    assert [(item["check"], item["target"], item["state"]) for item in page.body["items"]] == [
        ("web", "10.0.0.1", "up"),
        ("web", "10.0.0.2", "down"),
    ]
    rest = await c.get("/v1/tenants/acme/health", params={"cursor": page.body["next"]})
    assert [item["target"] for item in rest.body["items"]] == ["10.0.0.3"] and rest.body["next"] is None
    owner = c.as_token(await c.token_for("viewer", "acme"))
    assert "10.9.9.9" not in (await owner.get("/v1/tenants/acme/health")).text
    assert (await owner.get("/v1/tenants/other/health")).status == 404


async def test_explain_dynamic_answer_for_subnets(api: Api) -> None:
    c = api.client
    await make_tenant(c, "acme")
    await c.post("/v1/tenants/acme/checks", {"name": "web", "type": "tcp", "port": 80})
    app = {
        "name": "app",
        "type": "A",
        "values": ["192.0.2.1"],
        "dynamic": {
            "pools": {
                "office": {"values": [{"value": "192.0.2.10", "health_check": "web"}], "fallback": "world"},
                "world": {"values": [{"value": "192.0.2.20"}, {"value": "192.0.2.21"}]},
            },
            "rules": [{"subnets": ["198.51.100.0/24"], "pool": "office"}, {"pool": "world"}],
            "max_answers": 1,
        },
    }
    await make_zone(c, "acme", "example.com.", app)
    office = await c.get(f"{Z}/explain", params={"name": "app", "client": "198.51.100.0/24"})
    assert office.status == 200, office.body
    body = office.body
    assert body["outcome"] == "dynamic" and body["rule"] == 0 and body["pool"] == "office"
    assert (
        body["answer"] == ["192.0.2.10"]
        and body["scope_prefix"] == 24
        and body["client"] == "198.51.100.0/24"
    )
    world = await c.get(
        f"{Z}/explain", params={"name": "app.example.com.", "type": "a", "client": "203.0.113.9"}
    )
    assert world.body["pool"] == "world" and world.body["rule"] == 1 and len(world.body["answer"]) == 1
    # The office member goes down: the explanation follows the health state.
    await api.store.commit(
        [Put(DocRef("health", member_health_key("acme", "web", "192.0.2.10")), "", {"state": "down"})]
    )
    await api.feed.wait_for(await api.store.revision(), timeout=2)
    fallback = await c.get(f"{Z}/explain", params={"name": "app", "client": "198.51.100.7"})
    assert fallback.body["pool"] == "world" and "fell back from office" in fallback.body["reason"]
    bad = await c.get(f"{Z}/explain", params={"name": "app.elsewhere.org.", "type": "NOPE", "client": "x"})
    assert bad.status == 400 and {e["parameter"] for e in bad.body["errors"]} == {"name", "type", "client"}
