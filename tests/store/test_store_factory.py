"""open_store picks Redis or the embedded store, and says clearly when Redis cannot be reached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gslb.store import DocRef, EmbeddedStore, Put, Store, StoreUnavailableError, open_store
from gslb.store.factory import redis_client


async def test_unreachable_redis_names_host_and_port(tmp_path: Path, closed_port: int) -> None:
    with pytest.raises(
        StoreUnavailableError, match=rf"cannot reach Redis at redis://127\.0\.0\.1:{closed_port}/0"
    ):
        await open_store(f"redis://127.0.0.1:{closed_port}/0", data_dir=tmp_path)
    with pytest.raises(StoreUnavailableError) as excinfo:
        await open_store(f"redis://user:s3cret@127.0.0.1:{closed_port}/0", data_dir=tmp_path)
    message = str(excinfo.value)
    assert "s3cret" not in message and f"user:***@127.0.0.1:{closed_port}" in message
    assert "--redis-url" in message
    assert not list(tmp_path.iterdir()), "a Redis URL must never touch the data directory"


async def test_invalid_url_is_explained(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="not a valid Redis URL"):
        await open_store("http://:pw@example.com/", data_dir=tmp_path)


async def test_operations_on_a_store_whose_redis_went_away(closed_port: int) -> None:
    store = Store(redis_client(f"redis://127.0.0.1:{closed_port}/0"))
    try:
        for attempt in (
            store.revision(),
            store.load_all(),
            store.commit([Put(DocRef("zone", "a."), "t", {})]),
        ):
            with pytest.raises(
                StoreUnavailableError, match=rf"Redis at 127\.0\.0\.1:{closed_port}/0 is unreachable"
            ):
                await attempt
    finally:
        await store.close()


async def test_open_store_with_and_without_a_url(redis_server: Any, tmp_path: Path) -> None:
    store = await open_store(redis_server.url, data_dir=tmp_path / "unused", prefix="factory")
    try:
        assert not isinstance(store, EmbeddedStore)
        rev = await store.commit([Put(DocRef("zone", "a."), "acme", {})])
        assert await store.revision() == rev
        assert store.description == f"Redis at {redis_server.url}"
    finally:
        await store.close()
    embedded = await open_store(None, data_dir=tmp_path / "data")
    try:
        assert isinstance(embedded, EmbeddedStore)
        assert await embedded.commit([Put(DocRef("zone", "a."), "acme", {})]) == 1
    finally:
        await embedded.close()
    assert (tmp_path / "data" / "journal.jsonl").exists()
