"""Bad input over real HTTP: each a clear 4xx problem document, nothing written, the server stays up.
Also the orchestration endpoints, the OpenAPI document and the per-token rate limit."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs

from gslb.api.context import ApiSettings
from gslb.api.rbac import Role
from gslb.api.tokens import new_record, put_op
from tests.api.conftest import Api, make_tenant, make_zone, start_api

Z = "/v1/tenants/acme/zones/example.com."


async def prepared(api: Api) -> int:
    await make_tenant(api.client, "acme")
    await make_zone(api.client, "acme", "example.com.", {"name": "www", "type": "A", "values": ["192.0.2.1"]})
    return await api.store.revision()


def is_problem(reply: Any, status: int) -> bool:
    return (
        reply.status == status
        and reply.headers["Content-Type"].startswith("application/problem+json")
        and reply.body["status"] == status
        and reply.body["detail"]
    )


async def test_bad_bodies_are_refused_and_nothing_is_written(api: Api) -> None:
    c = api.client
    before = await prepared(api)
    url = f"{Z}/rrsets"
    auth = {"Authorization": f"Bearer {c.token}"}

    huge = json.dumps({"name": "big", "type": "TXT", "values": ["x" * 60000] * 20})
    reply = await c.post(url, data=huge, headers={**auth, "Content-Type": "application/json"})
    assert is_problem(reply, 413) and "limit" in reply.body["detail"]

    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 65536

    chunked = await c.post(url, data=chunks(), headers={"Content-Type": "application/json"})
    assert is_problem(chunked, 413)

    for raw, where in (("{", "line 1"), ('{"name": "a",}', "line 1"), ("{\n  'single': 1\n}", "line 2")):
        reply = await c.post(url, data=raw, headers={"Content-Type": "application/json"})
        assert is_problem(reply, 400) and where in reply.body["detail"], reply.body
    nan = await c.post(
        url, data='{"name": "a", "type": "A", "ttl": NaN}', headers={"Content-Type": "application/json"}
    )
    assert is_problem(nan, 400) and "NaN" in nan.body["detail"]
    deep = await c.post(url, data="[" * 100000 + "]" * 100000, headers={"Content-Type": "application/json"})
    assert is_problem(deep, 400)
    twice = await c.post(url, data='{"name": "a", "name": "b"}', headers={"Content-Type": "application/json"})
    assert is_problem(twice, 400) and "appears twice" in twice.body["detail"]
    check = {"name": "c", "type": "tcp", "port": 80, "interval": 1e999}
    infinite = await c.post(
        "/v1/tenants/acme/checks",
        data=json.dumps(check).replace("Infinity", "1e999"),
        headers={"Content-Type": "application/json"},
    )
    assert is_problem(infinite, 400) and "too large" in infinite.body["detail"]
    digits = await c.post(
        url, data='{"ttl": ' + "9" * 5000 + "}", headers={"Content-Type": "application/json"}
    )
    assert is_problem(digits, 400)
    latin = await c.post(url, data=b'{"name": "\xff"}', headers={"Content-Type": "application/json"})
    assert is_problem(latin, 400) and "UTF-8" in latin.body["detail"]

    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        reply = await c.post(url, data='{"name": "a"}', headers={"Content-Type": content_type})
        assert is_problem(reply, 415) and "application/json" in reply.body["detail"]

    array = await c.post(url, [1, 2])
    assert is_problem(array, 422) and array.body["errors"] == [
        {"detail": "expected an object, got list", "pointer": ""}
    ]
    unknown = await c.post(
        url, {"name": "a", "type": "A", "values": ["192.0.2.1"], "tll": 5, "colour": "red"}
    )
    assert is_problem(unknown, 422)
    assert sorted(e["pointer"] for e in unknown.body["errors"]) == ["/colour", "/tll"]
    assert all("unknown field" in e["detail"] for e in unknown.body["errors"])
    odd = await c.post("/v1/tenants", {"name": "x", "a[b": 1, "": 2})
    assert is_problem(odd, 422) and sorted(e["pointer"] for e in odd.body["errors"]) == ["/", "/a[b"]
    several = await c.post(
        url, {"name": "-bad-", "type": "MX", "values": [{"preference": -1, "exchange": "x"}]}
    )
    assert is_problem(several, 422)  # every reason, each with a pointer
    assert [e["pointer"] for e in several.body["errors"]] == ["/name", "/values/0/preference"]
    bad_zone = await c.put("/v1/tenants/acme/zones/two..dots", {})
    assert is_problem(bad_zone, 422) and bad_zone.body["errors"][0]["parameter"] == "zone"
    repeated = await c.put(f"{Z}/rrsets/www/A", {"name": "www", "values": ["192.0.2.1"]})
    assert is_problem(repeated, 422) and repeated.body["errors"][0]["pointer"] == "/name"
    bad_type = await c.put(f"{Z}/rrsets/x/BOGUS", {"values": ["1"]})
    assert is_problem(bad_type, 422) and bad_type.body["errors"][0]["parameter"] == "type"

    for params in (
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "9" * 400},
        {"limit": "-5"},
        {"limit": "ten"},
    ):
        reply = await c.get(url, params=params)
        assert is_problem(reply, 400) and reply.body["errors"][0]["parameter"] == "limit"
    assert is_problem(await c.get(url, params={"cursor": "x" * 5000}), 400)
    flag = await c.post(url, {"name": "a", "type": "TXT", "values": ["a"]}, params={"dry_run": "perhaps"})
    assert is_problem(flag, 400) and flag.body["errors"][0]["parameter"] == "dry_run"
    etag = await c.put(f"{Z}/rrsets/www/A", {"values": ["192.0.2.1"]}, headers={"If-Match": "yesterday"})
    assert is_problem(etag, 400) and etag.body["errors"][0]["header"] == "If-Match"
    assert is_problem(await c.request("PATCH", f"{Z}/rrsets/www/A", {}), 405)
    assert is_problem(await c.get("/v1/nothing-here"), 404)
    assert is_problem(await c.as_token(None).get("/v1/tenants", headers={"Authorization": "Basic abc"}), 401)

    assert await api.store.revision() == before
    assert (await c.get("/healthz")).status == 200
    assert (await c.get(f"{Z}/rrsets/www/A")).body["spec"]["values"] == ["192.0.2.1"]


async def test_orchestration_endpoints_metrics_and_documents(api: Api) -> None:
    c = api.client.as_token(None)
    assert (await c.get("/healthz")).body == {"status": "ok"}
    assert (await c.get("/readyz")).body == {"ready": True}
    await api.client.get("/v1/tenants")
    metrics = await c.get("/metrics")
    assert (
        metrics.status == 200
        and 'gslb_api_requests_total{method="GET",route="/v1/tenants",status="200"}' in metrics.text
    )
    document = await c.get("/v1/openapi.json")
    assert document.status == 200 and document.body["openapi"] == "3.1.0"
    paths = document.body["paths"]
    assert "/v1/tenants/{tenant}/zones/{zone}/rrsets/{name}/{type}" in paths
    body = document.body["components"]["schemas"]["ARecordSetBody"]
    assert body["additionalProperties"] is False and "zone" not in body["properties"]
    for name, schema in document.body["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name  # JSON Schema 2020-12, as OpenAPI 3.1 uses
    page = await c.get("/v1/docs")
    assert page.status == 200 and "If-Match" in page.text and "/v1/tenants/{tenant}/zones" in page.text


async def test_rate_limit_answers_429_with_retry_after(redis_server: Any) -> None:
    async for api in start_api(redis_server.url, ApiSettings(rate=0.5, burst=3)):
        statuses = [(await api.client.get("/v1/whoami")).status for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        limited = await api.client.get("/v1/whoami")
        assert limited.status == 429 and limited.headers["Retry-After"] == "2"
        assert limited.headers["Content-Type"].startswith("application/problem+json")
        # Another token has its own bucket; health endpoints are never limited.
        record, text = new_record(
            role=Role.VIEWER, tenant=None, zones=None, read_only=True, description="", created_by="tests"
        )
        await api.store.commit([put_op(record)])
        assert (await api.client.as_token(text).get("/v1/whoami")).status == 200
        assert (await api.client.get("/healthz")).status == 200


async def test_store_outage_is_503_and_the_api_recovers(fresh_redis: Any) -> None:
    async for api in start_api(fresh_redis.url):
        await make_tenant(api.client, "acme")
        fresh_redis.stop()
        down = await api.client.get("/v1/tenants/acme")
        assert is_problem(down, 503) and down.headers["Retry-After"] == "1"
        assert (await api.client.get("/readyz")).status == 503
        assert (await api.client.get("/healthz")).status == 200  # the process itself is fine
        fresh_redis.start()  # an empty Redis: the test restores its token by hand
        await api.store.commit([put_op(api.admin_record)])
        assert (await api.client.get("/readyz")).status == 200
        assert (await api.client.get("/v1/whoami")).status == 200
