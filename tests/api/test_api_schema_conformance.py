"""Real answers about real objects of every kind validate against the OpenAPI document's schemas
(schemathesis mostly meets 404s for random names; this covers the objects that exist)."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs

from gslb.store import DocRef, Put
from tests.api.conftest import Api, Reply, make_tenant, make_zone

T = "/v1/tenants/acme"
Z = T + "/zones/example.com."

RECORDS = [
    {"name": "www", "type": "A", "values": ["192.0.2.1"], "ttl": 60},
    {"name": "www", "type": "AAAA", "values": ["2001:db8::1"]},
    {"name": "alias", "type": "CNAME", "values": ["www.example.com."]},
    {"name": "@", "type": "MX", "values": [{"preference": 10, "exchange": "mail.example.com."}]},
    {"name": "@", "type": "TXT", "values": ["v=spf1 -all"]},
    {
        "name": "_sip._tcp",
        "type": "SRV",
        "values": [{"priority": 1, "weight": 1, "port": 5060, "target": "www.example.com."}],
    },
    {"name": "@", "type": "CAA", "values": [{"flags": 0, "tag": "issue", "value": "letsencrypt.org"}]},
    {
        "name": "@",
        "type": "SOA",
        "values": [{"mname": "ns1.example.net.", "rname": "hostmaster.example.com."}],
    },
    {"name": "_443._tcp.www", "type": "TLSA", "values": ["3 1 1 " + "ab" * 32]},
    {"name": "1.2", "type": "PTR", "values": ["host.example.com."]},
    {
        "name": "app",
        "type": "A",
        "dynamic": {
            "pools": {
                "eu": {
                    "values": [{"value": "192.0.2.10", "health_check": "web", "weight": 2}],
                    "location": {"latitude": 50, "longitude": 8},
                },
                "us": {"values": [{"value": "192.0.2.20", "probe": "10.0.0.20"}], "fallback": "eu"},
            },
            "rules": [
                {"geos": ["EU"], "pool": "eu"},
                {"subnets": ["198.51.100.0/24"], "pool": "us"},
                {"pool": "us"},
            ],
            "max_answers": 1,
            "sticky": {"ipv4_prefix": 24},
        },
    },
]
OBJECTS = {
    "checks": [
        {"name": "web", "type": "http", "port": 80, "path": "/healthz", "headers": {"X-Probe": "1"}},
        {"name": "tls", "type": "https", "tls_sni": "www.example.com"},
        {"name": "tcp", "type": "tcp", "port": 22, "quorum": 2},
        {"name": "dns", "type": "dns", "query_name": "www.example.com."},
        {"name": "udp", "type": "udp", "port": 123, "send": "ping"},
    ],
    "vips": [
        {
            "name": "web-vip",
            "address": "192.0.2.80",
            "port": 443,
            "reals": [{"address": "10.0.0.1", "health_check": "web"}],
        }
    ],
    "upstreams": [
        {
            "name": "web",
            "members": [{"address": "10.0.0.1", "port": 8080}],
            "algorithm": "consistent_hash",
            "hash_on": "cookie:sid",
        }
    ],
    "routes": [
        {"name": "site", "hosts": ["www.example.com", "*.example.org"], "upstream": "web", "methods": ["GET"]}
    ],
    "anycast": [
        {
            "name": "vip",
            "prefix": "192.0.2.80/32",
            "service": "vip",
            "vip": "web-vip",
            "states": {"up": {"med": 10}},
        }
    ],
}


class Conformance:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in document["paths"]
        ]
        self.checked = 0

    def check(self, method: str, path: str, reply: Reply) -> None:
        bare = path.split("?")[0]
        template = next(
            t for pattern, t in self.templates if pattern.match(bare) and t.count("/") == bare.count("/")
        )
        responses = self.document["paths"][template][method.lower()]["responses"]
        described = responses.get(str(reply.status), responses["default"])
        if "content" not in described:
            assert not reply.text, (method, path, reply.status)
            return
        content_type = reply.headers["Content-Type"].split(";")[0]
        schema = described["content"][content_type]["schema"]
        validator = jsonschema_rs.validator_for({**schema, "components": self.document["components"]})
        errors = [str(error) for error in validator.iter_errors(reply.body)]
        assert not errors, (method, path, reply.status, errors[:3], reply.body)
        self.checked += 1


async def test_answers_about_every_kind_of_object_match_the_schema(api: Api) -> None:
    c = api.client
    conformance = Conformance((await c.get("/v1/openapi.json")).body)

    async def call(method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
        reply = await c.request(method, path, body, **kwargs)
        conformance.check(method, path, reply)
        return reply

    await make_tenant(c, "acme")
    await call("PUT", "/v1/tenants/acme-kid", {"parent": "acme", "labels": {"team": "web"}})
    for collection in ("checks", "vips", "upstreams", "routes", "anycast"):
        for body in OBJECTS[collection]:
            created = await call("POST", f"{T}/{collection}", body)
            assert created.status == 201, created.body
        listed = await call("GET", f"{T}/{collection}")
        for item in listed.body["items"]:
            await call("GET", f"{T}/{collection}/{item['name']}")
    await make_zone(c, "acme", "example.com.", *RECORDS)
    for path in (
        "/v1/tenants",
        T,
        T + "/zones",
        Z,
        Z + "/rrsets",
        T + "/audit",
        "/v1/tokens",
        "/v1/whoami",
        "/v1/audit",
    ):
        await call("GET", path)
    for item in (await c.get(Z + "/rrsets")).body["items"]:
        await call("GET", f"{Z}/rrsets/{item['name']}/{item['type']}")
    await call("GET", f"{Z}/rrsets/app/A/pools/eu")
    app = await c.get(f"{Z}/rrsets/app/A")
    await call(
        "PUT",
        f"{Z}/rrsets/app/A/pools/eu",
        {"values": [{"value": "192.0.2.11"}]},
        headers={"If-Match": app.headers["ETag"]},
    )
    for query in (
        "name=app&client=198.51.100.1",
        "name=www",
        "name=nope",
        "name=www&type=MX",
        "name=1.2&type=PTR",
    ):
        await call("GET", f"{Z}/explain?{query}")
    await api.store.commit([Put(DocRef("health", "acme/web/192.0.2.10"), "", {"state": "down"})])
    await call("GET", T + "/health")

    www = await c.get(f"{Z}/rrsets/www/A")
    etag = {"If-Match": www.headers["ETag"]}
    await call(
        "PUT", f"{Z}/rrsets/www/A", {"values": ["192.0.2.2"]}, headers=etag, params={"dry_run": "true"}
    )
    await call(
        "POST", f"{Z}/rrsets", {"name": "n", "type": "TXT", "values": ["x"]}, params={"dry_run": "true"}
    )
    await call(
        "DELETE", Z, headers={"If-Match": (await c.get(Z)).headers["ETag"]}, params={"dry_run": "true"}
    )
    await call(
        "POST",
        f"{Z}/changes",
        {"changes": [{"op": "put", "record": {"name": "n", "type": "TXT", "values": ["x"]}}]},
    )
    await call("PUT", f"{Z}/rrsets/www/A", {"values": ["192.0.2.3"]}, headers=etag)
    token = await call("POST", "/v1/tokens", {"role": "viewer", "tenant": "acme", "zones": ["example.com."]})
    await call("GET", f"/v1/tokens/{token.body['id']}")
    await call("DELETE", f"/v1/tokens/{token.body['id']}")
    # Problems are documents of their own schema too.
    await call("PUT", f"{Z}/rrsets/www/A", {"values": ["192.0.2.4"]}, headers=etag)  # 412
    await call("POST", f"{Z}/rrsets", {"name": "bad", "type": "A", "values": ["x"], "extra": 1})  # 422
    await call("GET", T + "/zones/nowhere.test.")  # 404
    await call("DELETE", f"{Z}/rrsets/www/A")  # 428
    assert conformance.checked >= 60
