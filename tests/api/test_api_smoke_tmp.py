from tests.api.conftest import make_tenant, make_zone


async def test_smoke(api):
    c = api.client
    r = await c.get("/v1/whoami")
    print(r.status, r.body)
    await make_tenant(c, "acme")
    r = await make_zone(c, "acme", "example.com.", {"name": "www", "type": "A", "values": ["192.0.2.1"]})
    print(r.status, r.body, dict(r.headers))
    r = await c.get("/v1/tenants/acme/zones/example.com./rrsets")
    print(r.status, r.body)
    r = await c.get("/v1/tenants/acme/audit")
    print(r.status, r.body)
    r = await c.get("/v1/tenants/acme/zones/example.com/explain", params={"name": "www"})
    print(r.status, r.body)
    assert 0
