"""open_store: Redis when a URL is configured, else the embedded store."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gslb.settings import redact_url
from gslb.store.embedded import open_embedded
from gslb.store.errors import StoreUnavailableError
from gslb.store.keys import KeySpace
from gslb.store.store import Store


def redis_client(url: str) -> aioredis.Redis:
    """A client that survives a Redis restart: pooled connections that died are retried, briefly."""
    return aioredis.from_url(
        url,
        socket_connect_timeout=5,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


async def open_store(
    redis_url: str | None, *, data_dir: Path, prefix: str = "gslb", **kwargs: object
) -> Store:
    if redis_url is None:
        return await open_embedded(data_dir, prefix=prefix, **kwargs)  # type: ignore[arg-type]
    shown = redact_url(redis_url)
    try:
        client = redis_client(redis_url)
    except ValueError as exc:
        raise StoreUnavailableError(
            f"{shown} is not a valid Redis URL ({exc}); use redis://host:6379/0"
        ) from None
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise StoreUnavailableError(
            f"cannot reach Redis at {shown}: {exc}. Is redis-server running, and the URL right?"
        ) from None
    return Store(client, keys=KeySpace(prefix), description=f"Redis at {shown}", **kwargs)  # type: ignore[arg-type]
