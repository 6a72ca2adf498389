"""CRUD of every resource over real HTTP, ETags and If-Match, dry runs, the force guard, batches, audit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gslb.api.context import ApiSettings
from tests.api.conftest import NS, Api, make_tenant, make_zone, start_api

T = "/v1/tenants/acme"
Z = T + "/zones/example.com."

# (collection under the tenant, create body, replacement body, field whose change the update shows)
TENANT_OBJECTS = [
    ("checks", {"name": "web", "type": "http", "port": 80, "path": "/healthz"}, {"type": "tcp", "port": 81}),
    (
        "vips",
        {"name": "web-vip", "address": "192.0.2.80", "port": 443, "reals": [{"address": "10.0.0.1"}]},
        {"address": "192.0.2.80", "port": 443, "reals": [{"address": "10.0.0.2", "weight": 50}]},
    ),
    (
        "upstreams",
        {"name": "web", "members": [{"address": "10.0.0.1", "port": 8080}]},
        {"members": [{"address": "10.0.0.1", "port": 8080}, {"address": "10.0.0.2", "port": 8080}]},
    ),
    (
        "anycast",
        {"name": "dns", "prefix": "192.0.2.53/32", "service": "dns"},
        {"prefix": "192.0.2.54/32", "service": "dns"},
    ),
]


async def revision_of(api: Api) -> int:
    return await api.store.revision()


async def test_tenant_objects_crud(api: Api) -> None:
    c = api.client
    await make_tenant(c, "acme")
    for collection, create, replace in TENANT_OBJECTS:
        created = await c.post(f"{T}/{collection}", create)
        assert created.status == 201, (collection, created.body)
        name = create["name"]
        assert created.headers["Location"] == f"{T}/{collection}/{name}"
        assert created.headers["ETag"] == f'"{created.body["revision"]}"'
        assert created.body["tenant"] == "acme" and created.body["name"] == name
        assert "name" not in created.body["spec"] and "tenant" not in created.body["spec"]

        got = await c.get(f"{T}/{collection}/{name}")
        assert got.status == 200 and got.body == created.body

        listed = await c.get(f"{T}/{collection}")
        assert [item["name"] for item in listed.body["items"]] == [name] and listed.body["next"] is None

        # Replacing needs If-Match (428 without), and the right one (412 with an old one).
        missing = await c.put(f"{T}/{collection}/{name}", replace)
        assert missing.status == 428 and missing.body["errors"][0]["header"] == "If-Match"
        replaced = await c.put(f"{T}/{collection}/{name}", replace, headers={"If-Match": got.headers["ETag"]})
        assert replaced.status == 200, replaced.body
        assert replaced.body["revision"] > got.body["revision"]
        for field, value in replace.items():
            if not isinstance(value, list):
                assert replaced.body["spec"][field] == value
        stale = await c.put(f"{T}/{collection}/{name}", replace, headers={"If-Match": got.headers["ETag"]})
        assert stale.status == 412 and "nothing was written" in stale.body["detail"]

        gone = await c.delete(f"{T}/{collection}/{name}", headers={"If-Match": replaced.headers["ETag"]})
        assert gone.status == 204
        assert (await c.get(f"{T}/{collection}/{name}")).status == 404


async def test_route_needs_its_upstream_and_crud(api: Api) -> None:
    c = api.client
    await make_tenant(c, "acme")
    refused = await c.post(f"{T}/routes", {"name": "site", "hosts": ["www.example.com"], "upstream": "web"})
    assert refused.status == 422
    assert refused.body["errors"][0]["pointer"] == "/upstream"
    assert "does not exist" in refused.body["errors"][0]["detail"]
    await c.post(f"{T}/upstreams", {"name": "web", "members": [{"address": "10.0.0.1", "port": 80}]})
    created = await c.post(f"{T}/routes", {"name": "site", "hosts": ["www.example.com"], "upstream": "web"})
    assert created.status == 201, created.body
    etag = created.headers["ETag"]
    updated = await c.put(
        f"{T}/routes/site",
        {"hosts": ["www.example.com"], "upstream": "web", "path": "/app"},
        headers={"If-Match": etag},
    )
    assert updated.status == 200 and updated.body["spec"]["path"] == "/app"
    # The upstream is still referenced: deleting it is refused with the reason.
    upstream = await c.get(f"{T}/upstreams/web")
    blocked = await c.delete(f"{T}/upstreams/web", headers={"If-Match": upstream.headers["ETag"]})
    assert blocked.status == 422 and "route:acme/site" in blocked.text
    assert (await c.delete(f"{T}/routes/site", headers={"If-Match": updated.headers["ETag"]})).status == 204


async def test_tenants_zones_and_record_sets_crud(api: Api) -> None:
    c = api.client
    await make_tenant(c, "acme")
    kid = await c.put("/v1/tenants/acme-kid", {"parent": "acme", "display_name": "Kid"})
    assert kid.status == 201 and kid.body["spec"]["parent"] == "acme"
    # A zone without its NS record set is refused, with the reason and nothing written.
    before = await revision_of(api)
    bare = await c.post(f"{T}/zones", {"name": "example.com."})
    assert bare.status == 422 and "no NS record set" in bare.text
    assert await revision_of(api) == before

    zone = await make_zone(c, "acme", "example.com.")
    assert zone.body["name"] == "example.com." and zone.headers["Location"].endswith("/zones/example.com.")
    assert (await c.get(T + "/zones/example.com")).status == 200  # the trailing dot is optional

    static = await c.post(f"{Z}/rrsets", {"name": "www", "type": "A", "values": ["192.0.2.1"], "ttl": 60})
    assert static.status == 201, static.body
    assert static.headers["Location"] == f"{Z}/rrsets/www/A"
    dynamic_body = {
        "values": ["192.0.2.10"],
        "dynamic": {
            "pools": {
                "eu": {"values": [{"value": "192.0.2.10"}]},
                "us": {"values": [{"value": "192.0.2.11"}]},
            },
            "rules": [{"geos": ["EU"], "pool": "eu"}, {"pool": "us"}],
        },
    }
    dynamic = await c.put(f"{Z}/rrsets/app/A", dynamic_body)
    assert dynamic.status == 201, dynamic.body
    assert set(dynamic.body["spec"]["dynamic"]["pools"]) == {"eu", "us"}
    listed = await c.get(f"{Z}/rrsets", params={"limit": "2"})
    assert [item["name"] for item in listed.body["items"]] == ["@", "app"] and listed.body["next"] == "app/A"
    rest = await c.get(f"{Z}/rrsets", params={"limit": "2", "cursor": listed.body["next"]})
    assert [item["name"] for item in rest.body["items"]] == ["www"] and rest.body["next"] is None

    # Change one pool member (the dynamic record's pools are edited as part of the record set).
    dynamic_body["dynamic"]["pools"]["us"]["values"][0]["value"] = "192.0.2.12"
    changed = await c.put(f"{Z}/rrsets/app/A", dynamic_body, headers={"If-Match": dynamic.headers["ETag"]})
    assert changed.status == 200
    assert changed.body["spec"]["dynamic"]["pools"]["us"]["values"][0]["value"] == "192.0.2.12"

    explained = await c.get(f"{Z}/explain", params={"name": "www", "type": "A", "client": "192.0.2.99"})
    assert explained.status == 200, explained.body
    assert explained.body["outcome"] == "static" and explained.body["answer"] == ["192.0.2.1"]
    assert explained.body["ttl"] == 60
    nx = await c.get(f"{Z}/explain", params={"name": "nope"})
    assert nx.body["outcome"] == "nxdomain"

    www = await c.get(f"{Z}/rrsets/www/A")
    assert (await c.delete(f"{Z}/rrsets/www/A", headers={"If-Match": www.headers["ETag"]})).status == 204
    # Deleting a zone takes its record sets with it, and needs force=true.
    zone_now = await c.get(Z)
    refused = await c.delete(Z, headers={"If-Match": zone_now.headers["ETag"]})
    assert refused.status == 409 and refused.body["type"].endswith("force-required")
    deleted = await c.delete(Z, headers={"If-Match": zone_now.headers["ETag"]}, params={"force": "true"})
    assert deleted.status == 204
    assert (await c.get(Z)).status == 404
    assert not [key for key in (await api.store.load_all()).docs if key.startswith("rrset:")]
    # A tenant that still has a sub-tenant cannot be deleted; an empty one can.
    acme = await c.get(T)
    assert (await c.delete(T, headers={"If-Match": acme.headers["ETag"]})).status == 409
    kid_now = await c.get("/v1/tenants/acme-kid")
    assert (
        await c.delete("/v1/tenants/acme-kid", headers={"If-Match": kid_now.headers["ETag"]})
    ).status == 204


async def test_conflicting_updates_one_wins_other_gets_412(api: Api) -> None:
    c = api.client
    await make_tenant(c, "acme")
    await make_zone(c, "acme", "example.com.", {"name": "www", "type": "A", "values": ["192.0.2.1"]})
    read = await c.get(f"{Z}/rrsets/www/A")
    etag = read.headers["ETag"]
    for round_ in range(5):
        bodies = [{"values": [f"192.0.2.{10 + 3 * round_ + n}"]} for n in range(3)]
        replies = await asyncio.gather(
            *(c.put(f"{Z}/rrsets/www/A", body, headers={"If-Match": etag}) for body in bodies)
        )
        statuses = sorted(reply.status for reply in replies)
        assert statuses == [200, 412, 412], [reply.body for reply in replies]
        winner = next(reply for reply in replies if reply.status == 200)
        current = await c.get(f"{Z}/rrsets/www/A")
        assert current.body["spec"]["values"] == winner.body["spec"]["values"]
        loser = next(reply for reply in replies if reply.status == 412)
        assert (
            loser.body["type"].endswith("precondition-failed")
            and "nothing was written" in loser.body["detail"]
        )
        etag = current.headers["ETag"]


async def test_dry_run_changes_nothing_and_shows_the_plan(api: Api) -> None:
    c = api.client
    await make_tenant(c, "acme")
    await make_zone(c, "acme", "example.com.", {"name": "www", "type": "A", "values": ["192.0.2.1"]})
    www = await c.get(f"{Z}/rrsets/www/A")
    before = await revision_of(api)
    audit_before = len((await c.get(f"{T}/audit")).body["items"])

    plan = await c.put(
        f"{Z}/rrsets/www/A",
        {"values": ["192.0.2.2"]},
        headers={"If-Match": www.headers["ETag"]},
        params={"dry_run": "true"},
    )
    assert plan.status == 200 and plan.body["dry_run"] is True
    updates = plan.body["plan"]["updates"]
    assert [u["key"] for u in updates] == ["rrset:example.com./www/A"]
    assert updates[0]["fields"] == [{"path": "/values/0", "before": "192.0.2.1", "after": "192.0.2.2"}]
    created = await c.post(
        f"{Z}/rrsets", {"name": "new", "type": "A", "values": ["192.0.2.3"]}, params={"dry_run": "1"}
    )
    assert created.status == 200 and created.body["plan"]["creates"][0]["key"] == "rrset:example.com./new/A"
    deleted = await c.delete(
        Z, headers={"If-Match": (await c.get(Z)).headers["ETag"]}, params={"dry_run": "true"}
    )
    assert deleted.status == 200
    assert len(deleted.body["plan"]["deletes"]) == 3 and deleted.body["plan"]["force_required"]
    alias = await c.post(
        f"{Z}/rrsets",
        {"name": "alias", "type": "CNAME", "values": ["x.example."]},
        params={"dry_run": "true"},
    )
    assert alias.status == 200 and alias.body["plan"]["creates"][0]["kind"] == "rrset"
    broken = await c.post(
        f"{Z}/rrsets", {"name": "www", "type": "CNAME", "values": ["x.example."]}, params={"dry_run": "true"}
    )
    assert broken.status == 422 and "CNAME" in broken.text  # a dry run still validates

    assert await revision_of(api) == before
    assert (await c.get(f"{Z}/rrsets/www/A")).body["spec"]["values"] == ["192.0.2.1"]
    assert (await c.get(f"{Z}/rrsets/new/A")).status == 404
    assert len((await c.get(f"{T}/audit")).body["items"]) == audit_before


async def test_batch_is_atomic_and_guarded(api: Api) -> None:
    c = api.client
    await make_tenant(c, "acme")
    records = [{"name": f"h{i}", "type": "A", "values": [f"192.0.2.{i}"]} for i in range(1, 12)]
    await make_zone(c, "acme", "example.com.", *records)  # 12 record sets with the NS
    revs = {item["name"]: item["revision"] for item in (await c.get(f"{Z}/rrsets")).body["items"]}
    before = await revision_of(api)

    bad = await c.post(
        f"{Z}/changes",
        {
            "changes": [
                {"op": "put", "record": {"name": "new", "type": "A", "values": ["192.0.2.100"]}},
                {
                    "op": "put",
                    "record": {"name": "h1", "type": "A", "values": ["not-an-ip"]},
                    "revision": revs["h1"],
                },
                {"op": "delete", "name": "h2", "type": "A", "revision": revs["h2"]},
            ]
        },
    )
    assert bad.status == 422
    assert bad.body["errors"][0]["pointer"] == "/changes/1/record/values/0"
    assert await revision_of(api) == before

    unversioned = await c.post(f"{Z}/changes", {"changes": [{"op": "put", "record": records[0]}]})
    assert unversioned.status == 428 and unversioned.body["errors"][0]["pointer"] == "/changes/0/revision"

    # Four of twelve record sets (33%) deleted: held back without force.
    deletes = [{"op": "delete", "name": f"h{i}", "type": "A", "revision": revs[f"h{i}"]} for i in range(1, 5)]
    held = await c.post(f"{Z}/changes", {"changes": deletes})
    assert held.status == 409 and "33%" in held.text
    assert await revision_of(api) == before

    ok = await c.post(
        f"{Z}/changes",
        {"changes": [*deletes, {"op": "put", "record": {"name": "new", "type": "TXT", "values": ["hello"]}}]},
        params={"force": "true"},
    )
    assert ok.status == 200, ok.body
    assert ok.body["applied"] is True and ok.body["revision"] == before + 1  # one revision for the lot
    names = {item["name"] for item in (await c.get(f"{Z}/rrsets")).body["items"]}
    assert "h1" not in names and "h4" not in names and "new" in names and "h5" in names

    entry = (await c.get(f"{T}/audit", params={"limit": "1"})).body["items"][0]
    assert entry["rev_after"] == before + 1 and entry["rev_before"] == before
    assert entry["actor"].startswith("token:") and entry["action"] == f"POST {Z}/changes"
    actions = {change["key"]: change["action"] for change in entry["changes"]}
    assert (
        actions["rrset:example.com./h1/A"] == "delete" and actions["rrset:example.com./new/TXT"] == "create"
    )
    assert {change["rev_before"] for change in entry["changes"] if change["action"] == "delete"} == {
        revs["h1"]
    }


async def test_audit_records_every_mutation_with_revisions(api: Api) -> None:
    c = api.client
    await make_tenant(c, "acme")
    await make_zone(c, "acme", "example.com.")
    created = await c.post(f"{T}/checks", {"name": "web", "type": "tcp", "port": 80})
    updated = await c.put(
        f"{T}/checks/web", {"type": "tcp", "port": 81}, headers={"If-Match": created.headers["ETag"]}
    )
    await c.delete(f"{T}/checks/web", headers={"If-Match": updated.headers["ETag"]})
    page = await c.get(f"{T}/audit", params={"limit": "3"})
    entries = page.body["items"]
    assert [e["changes"][0]["action"] for e in entries] == ["delete", "update", "create"]
    assert entries[0]["changes"][0]["rev_before"] == updated.body["revision"]
    assert entries[1]["rev_after"] == updated.body["revision"]
    assert entries[1]["changes"][0]["rev_before"] == created.body["revision"]
    assert entries[0]["ts"] >= entries[2]["ts"] and page.body["next"]
    older = await c.get(f"{T}/audit", params={"cursor": page.body["next"]})
    assert [e["action"] for e in older.body["items"]] == [f"POST {T}/zones", "POST /v1/tenants"]


@pytest.mark.parametrize("body", [{"values": ["192.0.2.1"]}])
async def test_unchanged_put_writes_nothing(api: Api, body: dict[str, Any]) -> None:
    c = api.client
    await make_tenant(c, "acme")
    await make_zone(c, "acme", "example.com.", {"name": "www", "type": "A", **body})
    www = await c.get(f"{Z}/rrsets/www/A")
    before = await revision_of(api)
    same = await c.put(f"{Z}/rrsets/www/A", body, headers={"If-Match": www.headers["ETag"]})
    assert same.status == 200 and same.body["revision"] == www.body["revision"]
    assert await revision_of(api) == before
    assert NS["type"] == "NS"


async def test_pools_of_a_dynamic_record_set(api: Api) -> None:
    c = api.client
    await make_tenant(c, "acme")
    app = {
        "name": "app",
        "type": "A",
        "dynamic": {
            "pools": {
                "eu": {"values": [{"value": "192.0.2.10"}]},
                "us": {"values": [{"value": "192.0.2.20"}]},
            },
            "rules": [{"geos": ["EU"], "pool": "eu"}, {"pool": "us"}],
        },
    }
    await make_zone(c, "acme", "example.com.", app, {"name": "www", "type": "A", "values": ["192.0.2.1"]})
    P = f"{Z}/rrsets/app/A/pools"
    eu = await c.get(f"{P}/eu")
    assert eu.status == 200 and eu.body["spec"]["values"][0]["value"] == "192.0.2.10"
    assert eu.headers["ETag"] == (await c.get(f"{Z}/rrsets/app/A")).headers["ETag"]
    assert (await c.get(f"{P}/asia")).status == 404
    assert (await c.get(f"{Z}/rrsets/www/A/pools/eu")).status == 404  # a static record set has none

    new_eu = {"values": [{"value": "192.0.2.11", "weight": 3}], "fallback": "us"}
    assert (await c.put(f"{P}/eu", new_eu)).status == 428
    bad = await c.put(
        f"{P}/eu", {"values": [{"value": "not-an-ip"}]}, headers={"If-Match": eu.headers["ETag"]}
    )
    assert bad.status == 422 and bad.body["errors"][0]["pointer"] == "/values/0/value"
    changed = await c.put(f"{P}/eu", new_eu, headers={"If-Match": eu.headers["ETag"]})
    assert changed.status == 200, changed.body
    assert changed.body["spec"]["fallback"] == "us" and changed.body["spec"]["values"][0]["weight"] == 3
    stale = await c.put(f"{P}/eu", new_eu | {"fallback": None}, headers={"If-Match": eu.headers["ETag"]})
    assert stale.status == 412
    record = await c.get(f"{Z}/rrsets/app/A")
    assert record.body["spec"]["dynamic"]["pools"]["eu"]["values"][0]["value"] == "192.0.2.11"
    added = await c.put(
        f"{P}/asia", {"values": [{"value": "192.0.2.30"}]}, headers={"If-Match": record.headers["ETag"]}
    )
    assert added.status == 200 and set(
        (await c.get(f"{Z}/rrsets/app/A")).body["spec"]["dynamic"]["pools"]
    ) == {
        "eu",
        "us",
        "asia",
    }
    # A pool a rule still uses cannot go; an unused one can.
    in_use = await c.delete(f"{P}/us", headers={"If-Match": added.headers["ETag"]})
    assert in_use.status == 422 and "us" in in_use.text
    assert (await c.delete(f"{P}/asia", headers={"If-Match": added.headers["ETag"]})).status == 204
    assert (await c.get(f"{P}/asia")).status == 404


async def test_force_guard_on_small_zones_is_a_setting(api: Api, redis_server: Any) -> None:
    small = (
        {"name": "a", "type": "A", "values": ["192.0.2.1"]},
        {"name": "b", "type": "A", "values": ["192.0.2.2"]},
    )
    await make_tenant(api.client, "acme")
    await make_zone(api.client, "acme", "example.com.", *small)
    a = await api.client.get(f"{Z}/rrsets/a/A")
    routine = await api.client.put(
        f"{Z}/rrsets/a/A", {"values": ["192.0.2.9"]}, headers={"If-Match": a.headers["ETag"]}
    )
    assert routine.status == 200  # 1 of 3 record sets, but the zone is below the default minimum of 10
    async for strict in start_api(redis_server.url, ApiSettings(force_min_zone_size=0)):
        await make_tenant(strict.client, "acme")
        await make_zone(strict.client, "acme", "example.com.", *small)
        a = await strict.client.get(f"{Z}/rrsets/a/A")
        held = await strict.client.put(
            f"{Z}/rrsets/a/A", {"values": ["192.0.2.9"]}, headers={"If-Match": a.headers["ETag"]}
        )
        assert held.status == 409 and "1 of 3 record sets (33%)" in held.body["errors"][0]["detail"]
        forced = await strict.client.put(
            f"{Z}/rrsets/a/A",
            {"values": ["192.0.2.9"]},
            headers={"If-Match": a.headers["ETag"]},
            params={"force": "true"},
        )
        assert forced.status == 200
