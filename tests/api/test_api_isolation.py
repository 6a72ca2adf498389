"""Tenant isolation and roles over real HTTP: tenant A's tokens can neither see nor touch tenant B."""

from __future__ import annotations

from tests.api.conftest import Api, Client, make_tenant, make_zone

# Names only tenant B's side knows; no answer to tenant A may contain them unless A sent them.
B_SECRETS = ("bravo-zone.test.", "bravo-check", "bravo-vip", "bravo-dns", "bravo")


async def two_tenants(api: Api) -> tuple[Client, Client]:
    c = api.client
    await make_tenant(c, "alpha")
    await make_tenant(c, "bravo")
    await make_zone(c, "alpha", "alpha.test.", {"name": "www", "type": "A", "values": ["192.0.2.1"]})
    await make_zone(c, "bravo", "bravo-zone.test.", {"name": "www", "type": "A", "values": ["192.0.2.2"]})
    assert (
        await c.post("/v1/tenants/bravo/checks", {"name": "bravo-check", "type": "tcp", "port": 80})
    ).status == 201
    vip = {"name": "bravo-vip", "address": "192.0.2.80", "port": 443, "reals": [{"address": "10.0.0.1"}]}
    assert (await c.post("/v1/tenants/bravo/vips", vip)).status == 201
    anycast = {"name": "bravo-dns", "prefix": "192.0.2.53/32", "service": "dns"}
    assert (await c.post("/v1/tenants/bravo/anycast", anycast)).status == 201
    alpha = c.as_token(await c.token_for("owner", "alpha"))
    bravo = c.as_token(await c.token_for("owner", "bravo"))
    return alpha, bravo


def leaks(text: str, sent: str) -> list[str]:
    return [secret for secret in B_SECRETS if secret in text and secret not in sent]


async def test_tenant_a_cannot_read_write_list_or_explain_tenant_b(api: Api) -> None:
    alpha, bravo = await two_tenants(api)
    bravo_token = (await bravo.get("/v1/whoami")).body["id"]
    B = "/v1/tenants/bravo"
    zone = B + "/zones/bravo-zone.test."
    reads = [
        B,
        B + "/zones",
        zone,
        zone + "/rrsets",
        zone + "/rrsets/www/A",
        zone + "/explain?name=www",
        B + "/checks",
        B + "/checks/bravo-check",
        B + "/vips",
        B + "/vips/bravo-vip",
        B + "/anycast/bravo-dns",
        B + "/upstreams",
        B + "/routes",
        B + "/health",
        B + "/audit",
        zone + "/rrsets/www/A/pools/eu",
        f"/v1/tokens/{bravo_token}",
    ]
    for path in reads:
        reply = await alpha.get(path)
        assert reply.status == 404, (path, reply.status)
        assert reply.body["status"] == 404 and not leaks(reply.text, path), (path, reply.text)
    writes = [
        ("PUT", zone + "/rrsets/www/A", {"values": ["192.0.2.66"]}),
        ("POST", zone + "/rrsets", {"name": "evil", "type": "A", "values": ["192.0.2.66"]}),
        (
            "POST",
            zone + "/changes",
            {"changes": [{"op": "delete", "name": "www", "type": "A", "revision": 1}]},
        ),
        ("PUT", B + "/checks/bravo-check", {"type": "tcp", "port": 1}),
        ("POST", B + "/checks", {"name": "evil", "type": "tcp", "port": 1}),
        ("PUT", B, {"display_name": "owned"}),
        (
            "PUT",
            B + "/vips/bravo-vip",
            {"address": "192.0.2.81", "port": 1, "reals": [{"address": "10.0.0.9"}]},
        ),
    ]
    before = await api.store.revision()
    for method, path, body in writes:
        for etag in (
            None,
            "1",
            "2",
            "3",
            "4",
            "5",
            "6",
            "7",
            "8",
            "9",
            "10",
        ):  # guessing revisions does not help
            headers = {"If-Match": f'"{etag}"'} if etag else {}
            reply = await alpha.request(method, path, body, headers=headers)
            assert reply.status in (403, 404), (method, path, reply.status, reply.body)
            assert not leaks(reply.text, path + str(body)), reply.text
    for path in (zone, zone + "/rrsets/www/A", B + "/checks/bravo-check", B, f"/v1/tokens/{bravo_token}"):
        reply = await alpha.delete(path, headers={"If-Match": '"3"'}, params={"force": "true"})
        assert reply.status == 404 and not leaks(reply.text, path)
    assert await api.store.revision() == before
    assert (await bravo.get("/v1/whoami")).status == 200

    listed = await alpha.get("/v1/tenants")
    assert [item["name"] for item in listed.body["items"]] == ["alpha"]
    tokens = await alpha.get("/v1/tokens")
    assert {item["tenant"] for item in tokens.body["items"]} == {"alpha"}
    assert "hash" not in tokens.text and not leaks(tokens.text, "")
    # Explaining B's name from A's own zone says nothing about B.
    own = await alpha.get(
        "/v1/tenants/alpha/zones/alpha.test./explain", params={"name": "www.bravo-zone.test."}
    )
    assert own.status == 400 and "192.0.2.2" not in own.text
    assert (await alpha.get("/v1/audit")).status == 403


async def test_tenant_cannot_take_or_nest_under_another_tenants_zone(api: Api) -> None:
    alpha, _bravo = await two_tenants(api)
    before = await api.store.revision()
    NS = {"name": "@", "type": "NS", "values": ["ns1.example.net."]}
    taken = await alpha.post("/v1/tenants/alpha/zones", {"name": "bravo-zone.test.", "records": [NS]})
    assert taken.status == 409 and taken.body["type"].endswith("name-taken") and "bravo'" not in taken.text
    put = await alpha.put("/v1/tenants/alpha/zones/bravo-zone.test.", {"records": [NS]})
    assert put.status == 409
    for etag in ("1", "4", "5"):
        guessed = await alpha.put(
            "/v1/tenants/alpha/zones/bravo-zone.test.", {}, headers={"If-Match": f'"{etag}"'}
        )
        assert guessed.status == 409, guessed.body
    sub = await alpha.post("/v1/tenants/alpha/zones", {"name": "sub.bravo-zone.test.", "records": [NS]})
    assert sub.status == 422 and "another tenant" in sub.text
    assert not leaks(sub.text.replace("sub.bravo-zone.test.", ""), "")
    # A parent zone above B's zone would put B's zone inside A's: refused without naming it.
    parent = await alpha.post("/v1/tenants/alpha/zones", {"name": "test.", "records": [NS]})
    assert parent.status == 422 and not leaks(parent.text, "test.")
    # Announcing B's prefix is refused without naming B's object.
    prefix = await alpha.post(
        "/v1/tenants/alpha/anycast", {"name": "mine", "prefix": "192.0.2.53/32", "service": "dns"}
    )
    assert prefix.status == 422 and not leaks(prefix.text, "")
    vip = await alpha.post(
        "/v1/tenants/alpha/vips",
        {"name": "mine", "address": "192.0.2.80", "port": 443, "reals": [{"address": "10.0.0.1"}]},
    )
    assert vip.status == 422 and not leaks(vip.text, "") and "another tenant" in vip.text
    # Creating a tenant under B, or a top-level one, is refused.
    assert (await alpha.post("/v1/tenants", {"name": "graft", "parent": "bravo"})).status == 404
    assert (await alpha.post("/v1/tenants", {"name": "rootless"})).status == 403
    assert await api.store.revision() == before


async def test_roles_viewer_zone_limited_read_only_and_inheritance(api: Api) -> None:
    c = api.client
    await make_tenant(c, "alpha")
    await make_tenant(c, "alpha-kid", parent="alpha")
    await make_zone(c, "alpha", "one.test.", {"name": "www", "type": "A", "values": ["192.0.2.1"]})
    await make_zone(c, "alpha", "two.test.")
    await make_zone(c, "alpha-kid", "kid.test.")
    owner = c.as_token(await c.token_for("owner", "alpha"))
    viewer = c.as_token(await owner.token_for("viewer", "alpha"))
    editor_one = c.as_token(await owner.token_for("editor", "alpha", zones=["one.test"]))
    read_only = c.as_token(await owner.token_for("owner", "alpha", read_only=True))
    kid = c.as_token(await owner.token_for("owner", "alpha-kid"))

    record = {"values": ["192.0.2.7"]}
    www = await viewer.get("/v1/tenants/alpha/zones/one.test./rrsets/www/A")
    assert www.status == 200
    headers = {"If-Match": www.headers["ETag"]}
    for reader in (viewer, read_only):
        refused = await reader.put("/v1/tenants/alpha/zones/one.test./rrsets/www/A", record, headers=headers)
        assert refused.status == 403 and "only read" in refused.body["detail"]
        assert (
            await reader.post("/v1/tenants/alpha/checks", {"name": "x", "type": "tcp", "port": 1})
        ).status == 403

    # The zone-limited editor writes in its zone only, and sees only that zone.
    ok = await editor_one.put("/v1/tenants/alpha/zones/one.test./rrsets/www/A", record, headers=headers)
    assert ok.status == 200
    other = await editor_one.post(
        "/v1/tenants/alpha/zones/two.test./rrsets", {"name": "x", "type": "TXT", "values": ["x"]}
    )
    assert other.status == 403
    assert (await editor_one.get("/v1/tenants/alpha/zones/two.test./rrsets")).status == 403
    zones = await editor_one.get("/v1/tenants/alpha/zones")
    assert [item["name"] for item in zones.body["items"]] == ["one.test."]
    assert (
        await editor_one.post("/v1/tenants/alpha/checks", {"name": "x", "type": "tcp", "port": 1})
    ).status == 403
    assert (await editor_one.post("/v1/tokens", {"role": "viewer", "tenant": "alpha"})).status == 403
    assert (await editor_one.get("/v1/tenants/alpha/audit")).status == 403

    # Roles inherit downwards, never upwards or sideways.
    assert (await owner.get("/v1/tenants/alpha-kid/zones/kid.test./rrsets")).status == 200
    assert (
        await owner.post("/v1/tenants/alpha-kid/checks", {"name": "up", "type": "tcp", "port": 1})
    ).status == 201
    assert (await kid.get("/v1/tenants/alpha")).status == 404
    assert (await kid.get("/v1/tenants/alpha/zones/one.test./rrsets")).status == 404
    kid_self = await kid.get("/v1/tenants/alpha-kid")
    moved = await kid.put("/v1/tenants/alpha-kid", {}, headers={"If-Match": kid_self.headers["ETag"]})
    assert moved.status == 403  # an owner cannot move its own tenant out from under its parent
    renamed = await kid.put(
        "/v1/tenants/alpha-kid",
        {"parent": "alpha", "display_name": "Kid Ltd"},
        headers={"If-Match": kid_self.headers["ETag"]},
    )
    assert renamed.status == 200 and renamed.body["spec"]["display_name"] == "Kid Ltd"
    grandchild = await kid.put("/v1/tenants/alpha-kid-kid", {"parent": "alpha-kid"})
    assert grandchild.status == 201
    assert (await kid.post("/v1/tenants", {"name": "escape", "parent": "alpha"})).status == 404
    assert (await kid.post("/v1/tokens", {"role": "owner", "tenant": "alpha"})).status == 404
    assert (await owner.post("/v1/tokens", {"role": "admin"})).status == 403


async def test_revoked_token_stops_working_at_once(api: Api) -> None:
    c = api.client
    await make_tenant(c, "alpha")
    created = await c.post("/v1/tokens", {"role": "editor", "tenant": "alpha", "description": "ci"})
    token = created.body["token"]
    editor = c.as_token(token)
    assert (await editor.get("/v1/tenants/alpha")).status == 200
    assert (await c.delete(f"/v1/tokens/{created.body['id']}")).status == 204
    gone = await editor.get("/v1/tenants/alpha")
    assert gone.status == 401 and gone.headers["WWW-Authenticate"].startswith("Bearer")
    assert gone.headers["Content-Type"].startswith("application/problem+json")
    # A token can revoke itself; then it is dead too.
    own = c.as_token(await c.token_for("viewer", "alpha"))
    me = await own.get("/v1/whoami")
    assert (await own.delete(f"/v1/tokens/{me.body['id']}")).status == 204
    assert (await own.get("/v1/whoami")).status == 401
    # Tokens are stored as hashes only; the text appears nowhere in the store.
    dump = await api.store.load_all()
    assert all(token not in str(doc.body) for doc in dump.docs.values())
    assert (await c.as_token("gslb_0123456789abcdef_" + "x" * 43).get("/v1/whoami")).status == 401
    assert (await c.as_token(None).get("/v1/tenants")).status == 401
