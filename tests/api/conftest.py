"""A running API over real HTTP on loopback, backed by a real redis-server, with a live snapshot feed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from gslb.api.app import create_app
from gslb.api.context import ApiSettings
from gslb.api.rbac import Role
from gslb.api.tokens import TokenRecord, new_record, put_op
from gslb.feed import SnapshotFeed
from gslb.store import KeySpace, Store
from gslb.store.factory import redis_client
from tests.conftest import free_port


@dataclass
class Reply:
    status: int
    headers: Any
    body: Any
    text: str


class Client:
    """Talks to the API with one token."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str | None) -> None:
        self.session = session
        self.base = base
        self.token = token

    def as_token(self, token: str | None) -> Client:
        return Client(self.session, self.base, token)

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        headers: dict[str, str] | None = None,
        data: Any = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        async with self.session.request(
            method, self.base + path, json=json, data=data, headers=sent, params=params
        ) as response:
            text = await response.text()
            body: Any = None
            if response.content_type in ("application/json", "application/problem+json"):
                body = await response.json(content_type=None)
            return Reply(response.status, response.headers, body, text)

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Reply:
        return await self.request("POST", path, json, **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> Reply:
        return await self.request("PUT", path, json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("DELETE", path, **kwargs)

    async def token_for(self, role: str, tenant: str | None, **extra: Any) -> str:
        reply = await self.post("/v1/tokens", {"role": role, "tenant": tenant, **extra})
        assert reply.status == 201, reply.body
        return str(reply.body["token"])


@dataclass
class Api:
    client: Client  # with the admin token
    store: Store
    feed: SnapshotFeed
    base: str
    prefix: str
    settings: ApiSettings
    admin_record: TokenRecord


async def start_api(redis_url: str, settings: ApiSettings | None = None) -> AsyncIterator[Api]:
    prefix = f"api{uuid.uuid4().hex[:8]}"
    store = Store(redis_client(redis_url), keys=KeySpace(prefix))
    record, admin_token = new_record(
        role=Role.ADMIN, tenant=None, zones=None, read_only=False, description="tests", created_by="tests"
    )
    await store.commit([put_op(record)], actor="tests")
    feed = SnapshotFeed(store, block_ms=200)
    await feed.start()
    settings = settings or ApiSettings(rate=1000.0, burst=1000)
    runner = web.AppRunner(create_app(store, settings=settings, snapshot=lambda: feed.snapshot))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        yield Api(Client(session, base, admin_token), store, feed, base, prefix, settings, record)
    await runner.cleanup()
    await feed.stop()
    await store.close()


@pytest.fixture
async def api(redis_server: Any) -> AsyncIterator[Api]:
    async for running in start_api(redis_server.url):
        yield running


NS = {"name": "@", "type": "NS", "values": ["ns1.example.net."]}


async def make_tenant(client: Client, name: str, parent: str | None = None) -> None:
    reply = await client.post("/v1/tenants", {"name": name, **({"parent": parent} if parent else {})})
    assert reply.status == 201, reply.body


async def make_zone(client: Client, tenant: str, zone: str, *records: dict[str, Any]) -> Reply:
    reply = await client.post(f"/v1/tenants/{tenant}/zones", {"name": zone, "records": [NS, *records]})
    assert reply.status == 201, reply.body
    return reply
