"""open_store: Redis when a URL is configured, else the embedded store in a data directory."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gslb.store.embedded import open_embedded
from gslb.store.errors import StoreUnavailableError
from gslb.store.keys import KeySpace
from gslb.store.store import DEFAULT_FEED_MAXLEN, DEFAULT_MAX_ENTRY_BYTES, Store

CONNECT_TIMEOUT = 5.0


def redact_url(url: str) -> str:
    """The URL without its password, safe for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None and "@" not in parts.netloc:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user + ':' if user else ''}***@{host}"))


def redis_client(url: str) -> aioredis.Redis:
    """A client that rides out a Redis restart: commands on a dead pooled connection are retried, briefly."""
    return aioredis.from_url(
        url,
        decode_responses=False,
        socket_connect_timeout=CONNECT_TIMEOUT,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


async def open_store(
    redis_url: str | None,
    *,
    data_dir: Path,
    prefix: str = "gslb",
    feed_maxlen: int = DEFAULT_FEED_MAXLEN,
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
) -> Store:
    """The store the process was configured with; StoreUnavailableError if Redis does not answer PING."""
    if not redis_url:
        return await open_embedded(
            data_dir, prefix=prefix, feed_maxlen=feed_maxlen, max_entry_bytes=max_entry_bytes
        )
    shown = redact_url(redis_url)
    try:
        client = redis_client(redis_url)
    except ValueError as exc:
        raise StoreUnavailableError(
            f"{shown} is not a valid Redis URL ({exc}); use redis://[user:password@]host:6379/0"
        ) from None
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise StoreUnavailableError(
            f"cannot reach Redis at {shown}: {exc}. Is redis-server running there, and is --redis-url right?"
        ) from None
    return Store(
        client,
        keys=KeySpace(prefix),
        feed_maxlen=feed_maxlen,
        max_entry_bytes=max_entry_bytes,
        description=f"Redis at {shown}",
    )
