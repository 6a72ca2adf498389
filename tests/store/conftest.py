"""Store fixtures: one suite for both backends (the Redis fixtures are in tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gslb.store import KeySpace, Store, open_embedded
from gslb.store.factory import redis_client
from tests.conftest import RedisProcess


class Backend:
    """Makes stores on one backend that all see the same data.

    On Redis every store() is a separate client (as separate nodes would be). The embedded store
    belongs to one process, so every store() returns that one object: in-process components share it.
    """

    def __init__(self, name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.name = name
        self._tmp_path = tmp_path
        self._request = request
        self.prefix = f"t{uuid.uuid4().hex[:12]}"
        self._opened: list[Store] = []

    async def store(self, **kwargs: Any) -> Store:
        if self.name == "redis":
            server: RedisProcess = self._request.getfixturevalue("redis_server")
            store = Store(redis_client(server.url), keys=KeySpace(self.prefix), **kwargs)
        elif self._opened:
            return self._opened[0]
        else:
            store = await open_embedded(self._tmp_path / "data", prefix=self.prefix, **kwargs)
        self._opened.append(store)
        return store

    async def close(self) -> None:
        for store in reversed(self._opened):
            await store.close()


@pytest.fixture(params=["redis", "embedded"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    made = Backend(request.param, tmp_path, request)
    yield made
    await made.close()


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.store()
