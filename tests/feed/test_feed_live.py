"""Policy writes through PolicyStore reach every node's compiled snapshot within milliseconds."""

from __future__ import annotations

import time
import uuid
from typing import Any

import dns.rdatatype
import pytest

from gslb.feed import SnapshotFeed
from gslb.policy import PolicyError, parse_document
from gslb.store import ConflictError, DocRef, KeySpace, PolicyStore, Put, Store
from gslb.store.factory import redis_client

BASE = [
    ("tenant", {"name": "acme"}),
    ("zone", {"name": "example.com.", "tenant": "acme"}),
    ("rrset", {"zone": "example.com.", "name": "@", "type": "NS", "values": ["ns1.example.com."]}),
    ("check", {"tenant": "acme", "name": "web", "type": "tcp", "port": 80}),
]


def www(address: str) -> Any:
    return parse_document("rrset", {"zone": "example.com.", "name": "www", "type": "A", "values": [address]})


@pytest.fixture
async def stores(redis_server: Any) -> Any:
    keys = KeySpace(f"feed{uuid.uuid4().hex[:8]}")
    writer = Store(redis_client(redis_server.url), keys=keys)
    node = Store(redis_client(redis_server.url), keys=keys)
    yield writer, node
    await writer.close()
    await node.close()


def app_record() -> Any:
    """A dynamic name: pool "main" while the web check of its member is up, else "backup"."""
    return parse_document(
        "rrset",
        {
            "zone": "example.com.",
            "name": "app",
            "type": "A",
            "dynamic": {
                "pools": {
                    "main": {
                        "values": [{"value": "192.0.2.10", "health_check": "web"}],
                        "fallback": "backup",
                    },
                    "backup": {"values": [{"value": "198.51.100.10"}]},
                },
                "rules": [{"pool": "main"}],
            },
        },
    )


def answer_of(feed: SnapshotFeed) -> bytes:
    zone = feed.snapshot.find_zone("www.example.com.")
    assert zone is not None
    return zone.nodes["www.example.com."].rrsets[dns.rdatatype.A].rdatas[0]


async def test_change_visible_in_node_snapshot_within_100ms(stores: Any) -> None:
    writer, node = stores
    policy_store = PolicyStore(writer)
    await policy_store.apply([parse_document(kind, body) for kind, body in BASE] + [www("192.0.2.1")])
    feed = SnapshotFeed(node, block_ms=500)
    await feed.start()
    latencies = []
    try:
        assert answer_of(feed) == bytes([192, 0, 2, 1])
        for i in range(2, 102):
            started = time.perf_counter()
            revision = await policy_store.apply([www(f"192.0.2.{i}")])
            await feed.wait_for(revision, timeout=2)
            latencies.append(time.perf_counter() - started)
            assert answer_of(feed) == bytes([192, 0, 2, i])
    finally:
        await feed.stop()
    latencies.sort()
    p99 = latencies[98]
    print(f"write -> node snapshot: p50 {latencies[50] * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")
    assert p99 < 0.100
    assert feed.stats is not None and not feed.stats.full, "single changes recompile incrementally"


async def test_health_state_change_recompiles_dynamic_answers(stores: Any) -> None:
    writer, node = stores
    policy_store = PolicyStore(writer)
    dynamic = app_record()
    other_zone = [
        parse_document("zone", {"name": "example.net.", "tenant": "acme"}),
        parse_document(
            "rrset", {"zone": "example.net.", "name": "@", "type": "NS", "values": ["ns1.example.com."]}
        ),
        parse_document(
            "rrset", {"zone": "example.net.", "name": "www", "type": "A", "values": ["192.0.2.7"]}
        ),
    ]
    await policy_store.apply([parse_document(kind, body) for kind, body in BASE] + [dynamic, *other_zone])
    feed = SnapshotFeed(node, block_ms=500)
    await feed.start()
    try:
        from ipaddress import ip_address

        from gslb.engine import ClientContext, select

        def pool_for_client() -> str | None:
            zone = feed.snapshot.find_zone("app.example.com.")
            assert zone is not None
            answer = zone.nodes["app.example.com."].rrsets[dns.rdatatype.A]
            return select(answer, ClientContext(ip_address("192.0.2.99"), None, 32), 1).pool  # type: ignore[arg-type]

        assert pool_for_client() == "main"
        untouched = feed.snapshot.zones["example.net."]
        revision = await writer.commit(
            [Put(DocRef("health", "acme/web/192.0.2.10"), "acme", {"state": "down"})]
        )
        await feed.wait_for(revision, timeout=2)
        assert pool_for_client() == "backup"
        # Only the zone whose answers depend on that state was recompiled, not the whole tenant.
        assert feed.snapshot.zones["example.net."] is untouched
    finally:
        await feed.stop()


async def test_policy_store_refuses_invalid_and_stale_writes(stores: Any) -> None:
    writer, _node = stores
    policy_store = PolicyStore(writer)
    revision = await policy_store.apply([parse_document(kind, body) for kind, body in BASE])
    with pytest.raises(PolicyError) as excinfo:
        await policy_store.apply([parse_document("zone", {"name": "sub.example.com.", "tenant": "ghost"})])
    assert "tenant 'ghost' does not exist" in str(excinfo.value)
    assert await writer.revision() == revision

    first = await policy_store.apply([www("192.0.2.1")])
    key = "rrset:example.com./www/A"
    await policy_store.apply([www("192.0.2.2")], expected={key: first})
    with pytest.raises(ConflictError):
        await policy_store.apply([www("192.0.2.3")], expected={key: first})
    assert (await writer.get(DocRef.parse(key))).body["values"] == ["192.0.2.2"]  # type: ignore[union-attr]


async def test_a_record_change_patches_its_node_and_a_health_change_beside_it_compiles_whole(
    stores: Any,
) -> None:
    """One name changed: the other nodes of the zone are the same objects (patched, not rebuilt).
    A record change and a health change in one commit: the zone is compiled whole, so dynamic
    answers elsewhere in it see the new health."""
    writer, node = stores
    policy_store = PolicyStore(writer)
    app = app_record()
    mail = parse_document(
        "rrset", {"zone": "example.com.", "name": "mail", "type": "A", "values": ["192.0.2.25"]}
    )
    await policy_store.apply(
        [parse_document(kind, body) for kind, body in BASE] + [www("192.0.2.1"), app, mail]
    )
    feed = SnapshotFeed(node, block_ms=500)
    await feed.start()
    try:
        before = feed.snapshot.zones["example.com."]
        await feed.wait_for(await policy_store.apply([www("192.0.2.2")]), timeout=2)
        after = feed.snapshot.zones["example.com."]
        assert answer_of(feed) == bytes([192, 0, 2, 2]) and after.serial > before.serial
        assert after.nodes["mail.example.com."] is before.nodes["mail.example.com."]
        assert after.nodes["app.example.com."] is before.nodes["app.example.com."]
        # Health and a record of the same zone in one commit.
        revision = await writer.commit(
            [
                Put(DocRef("health", "acme/web/192.0.2.10"), "acme", {"state": "down"}),
                Put(DocRef("rrset", "example.com./www/A"), "acme", {"zone": "example.com.", "name": "www",
                                                                    "type": "A", "values": ["192.0.2.3"]}),
            ]
        )  # fmt: skip
        await feed.wait_for(revision, timeout=2)
        zone = feed.snapshot.zones["example.com."]
        assert answer_of(feed) == bytes([192, 0, 2, 3])
        assert zone.nodes["mail.example.com."] is not after.nodes["mail.example.com."]  # compiled whole
        app_answer = zone.nodes["app.example.com."].rrsets[dns.rdatatype.A]
        from ipaddress import ip_address

        from gslb.engine import ClientContext, select

        client = ClientContext(ip_address("192.0.2.99"), None, 32)
        assert select(app_answer, client, 1).pool == "backup"  # type: ignore[arg-type]
    finally:
        await feed.stop()
