"""The same behavioural suite runs against a real redis-server and against the embedded store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from gslb.store import KeySpace, Store, open_embedded


@pytest.fixture(params=["redis", "embedded"])
async def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Returns `make(**store_kwargs) -> Store`; every store made shares one backend (one Redis prefix)."""
    opened: list[Store] = []
    prefix = f"t{uuid.uuid4().hex[:10]}"
    embedded = None

    async def make(**kwargs: Any) -> Store:
        nonlocal embedded
        if request.param == "redis":
            server = request.getfixturevalue("redis_server")
            store = Store(aioredis.from_url(server.url), keys=KeySpace(prefix), **kwargs)
        elif embedded is None:
            embedded = await open_embedded(tmp_path / "data", prefix=prefix, **kwargs)
            store = embedded
        else:
            # In-process components share the one embedded store object (it owns the journal).
            return embedded
        opened.append(store)
        return store

    make.backend = request.param  # type: ignore[attr-defined]
    yield make
    for store in reversed(opened):
        await store.close()


@pytest.fixture
async def store(store_factory: Callable[..., Any]) -> Store:
    return await store_factory()
