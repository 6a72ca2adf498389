"""Store: JSON documents in Redis with a global revision, atomic commits and a change stream.

One hash holds every document (field = "kind:name", value = envelope JSON), two families of sets
index them by tenant and kind, a counter holds the revision, and a stream records every commit with
the revision as its ID. Commits are optimistic transactions (WATCH the revision, check, MULTI/EXEC),
so every commit is all-or-nothing and revisions have no gaps.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import random
import time
import uuid
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from gslb.store.errors import (
    ConflictError,
    KeyConflict,
    StaleRevisionError,
    StoreError,
    StoreUnavailableError,
)
from gslb.store.keys import KeySpace
from gslb.store.types import Change, ChangeEntry, Delete, DocRef, Op, Put, StateDump, StoredDoc

log = logging.getLogger(__name__)

DEFAULT_FEED_MAXLEN = 100_000
DEFAULT_MAX_ENTRY_BYTES = 4 * 1024 * 1024
MAX_COMMIT_ATTEMPTS = 50


def dumps(value: Any) -> bytes:
    """Stable compact JSON, so equal documents are equal bytes."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def _envelope(raw: bytes | str, key: str) -> StoredDoc:
    data = json.loads(raw)
    return StoredDoc(DocRef.parse(key), data["tenant"], int(data["rev"]), data["body"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Store:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        keys: KeySpace | None = None,
        feed_maxlen: int = DEFAULT_FEED_MAXLEN,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        description: str = "Redis",
    ) -> None:
        self.client = client
        self.keys = keys or KeySpace()
        self.feed_maxlen = feed_maxlen
        self.max_entry_bytes = max_entry_bytes
        self.description = description

    # --- reads --------------------------------------------------------------------------------

    async def revision(self) -> int:
        async with self._errors():
            value = await self.client.get(self.keys.revision())
        return int(value or 0)

    async def get(self, ref: DocRef) -> StoredDoc | None:
        async with self._errors():
            raw = await self.client.hget(self.keys.docs(), ref.key)
        return None if raw is None else _envelope(raw, ref.key)

    async def get_many(self, refs: Sequence[DocRef]) -> builtins.dict[str, StoredDoc]:
        if not refs:
            return {}
        keys = [ref.key for ref in refs]
        async with self._errors():
            raws = await self.client.hmget(self.keys.docs(), keys)
        return {key: _envelope(raw, key) for key, raw in zip(keys, raws, strict=True) if raw is not None}

    async def list(self, *, kind: str | None = None, tenant: str | None = None) -> list[StoredDoc]:
        async with self._errors():
            if kind is None and tenant is None:
                everything = await self.client.hgetall(self.keys.docs())
                return sorted(
                    (_envelope(raw, _text(key)) for key, raw in everything.items()),
                    key=lambda doc: doc.ref.key,
                )
            index_keys: builtins.list[str] = []
            if kind is not None:
                index_keys.append(self.keys.kind_index(kind))
            if tenant is not None:
                index_keys.append(self.keys.tenant_index(tenant))
            members = await self.client.sinter(index_keys)
        keys = sorted(_text(member) for member in members)
        found = await self.get_many([DocRef.parse(key) for key in keys])
        return [found[key] for key in keys if key in found]

    async def load_all(self) -> StateDump:
        """Every document and the revision they are at, read in one transaction (never mixed)."""
        async with self._errors(), self.client.pipeline(transaction=True) as pipe:
            pipe.get(self.keys.revision())
            pipe.hgetall(self.keys.docs())
            pipe.get(self.keys.epoch())
            revision, everything, epoch = await pipe.execute()
        docs = {}
        for key, raw in everything.items():
            text: str = _text(key)
            docs[text] = _envelope(raw, text)
        return StateDump(int(revision or 0), docs, _text(epoch) if epoch is not None else None)

    async def epoch(self) -> str | None:
        async with self._errors():
            value = await self.client.get(self.keys.epoch())
        return None if value is None else _text(value)

    async def changes_since(self, rev: int, *, count: int = 1000) -> builtins.list[ChangeEntry] | None:
        """Entries after `rev` (at most `count`), or None when the stream no longer holds rev+1."""
        async with self._errors():
            entries = await self.client.xrange(self.keys.changes(), min=f"({rev}-0", max="+", count=count)
            if not entries:
                current = await self.revision()
                return [] if current <= rev else None
        parsed = [self._parse_entry(entry_id, fields) for entry_id, fields in entries or ()]
        if parsed[0].rev != rev + 1:
            return None
        return parsed

    def _parse_entry(self, entry_id: Any, fields: Any) -> ChangeEntry:
        raw = fields.get(b"entry") or fields.get("entry")
        if raw is None:
            raise StoreError(f"change entry {_text(entry_id)} has no payload; the stream is not ours")
        return ChangeEntry.from_json(json.loads(raw))

    # --- writes -------------------------------------------------------------------------------

    async def commit(
        self, ops: Sequence[Op], *, base_revision: int | None = None, actor: str | None = None
    ) -> int:
        """Apply every op atomically at one new revision; returns it. Nothing is written on any error."""
        if not ops:
            raise StoreError("a commit needs at least one operation")
        keys = [op.ref.key for op in ops]
        if len(set(keys)) != len(keys):
            duplicates = sorted({key for key in keys if keys.count(key) > 1})
            raise StoreError(f"a commit may touch each document once; repeated: {', '.join(duplicates)}")
        for attempt in range(MAX_COMMIT_ATTEMPTS):
            try:
                return await self._try_commit(ops, keys, base_revision, actor)
            except WatchError:
                if base_revision is not None:
                    current = await self.revision()
                    raise StaleRevisionError(base_revision, current) from None
                # Another writer won the race: back off a little (jittered) so contenders spread out.
                await asyncio.sleep(random.random() * 0.002 * (attempt + 1))
        current = await self.revision()
        raise StaleRevisionError(base_revision if base_revision is not None else current, current)

    async def _try_commit(
        self, ops: Sequence[Op], keys: builtins.list[str], base_revision: int | None, actor: str | None
    ) -> int:
        async with self._errors(), self.client.pipeline(transaction=True) as pipe:
            await pipe.watch(self.keys.revision())
            current = int(await pipe.get(self.keys.revision()) or 0)
            if base_revision is not None and current != base_revision:
                raise StaleRevisionError(base_revision, current)
            raws = await pipe.hmget(self.keys.docs(), keys)
            existing: builtins.dict[str, StoredDoc] = {
                key: _envelope(raw, key) for key, raw in zip(keys, raws, strict=True) if raw is not None
            }
            conflicts = [
                KeyConflict(op.ref.key, op.if_rev, existing[op.ref.key].rev if op.ref.key in existing else 0)
                for op in ops
                if op.if_rev is not None
                and (existing[op.ref.key].rev if op.ref.key in existing else 0) != op.if_rev
            ]
            if conflicts:
                raise ConflictError(conflicts)
            epoch_raw = await pipe.get(self.keys.epoch())
            epoch = _text(epoch_raw) if epoch_raw is not None else uuid.uuid4().hex
            new_rev = current + 1
            entry = self.entry_for(ops, existing, new_rev, actor, epoch)
            await self.before_exec(entry)
            pipe.multi()
            self._queue_writes(pipe, ops, existing, new_rev)
            pipe.set(self.keys.revision(), new_rev)
            if epoch_raw is None:
                pipe.set(self.keys.epoch(), epoch)
            payload = dumps(entry.to_json())
            if len(payload) > self.max_entry_bytes:
                # Huge commits (bulk imports) would bloat the stream and every follower's read:
                # followers reload instead.
                payload = dumps(ChangeEntry(new_rev, entry.ts, actor, (), reload=True, epoch=epoch).to_json())
            pipe.xadd(
                self.keys.changes(),
                {"entry": payload},
                id=f"{new_rev}-0",
                maxlen=self.feed_maxlen,
                approximate=True,
            )
            await pipe.execute()
        return new_rev

    def entry_for(
        self,
        ops: Sequence[Op],
        existing: builtins.dict[str, StoredDoc],
        rev: int,
        actor: str | None,
        epoch: str | None,
    ) -> ChangeEntry:
        changes = []
        for op in ops:
            if isinstance(op, Put):
                changes.append(Change("put", op.ref, op.tenant, op.body))
            else:
                old = existing.get(op.ref.key)
                changes.append(Change("delete", op.ref, old.tenant if old else "", None))
        return ChangeEntry(rev, time.time(), actor, tuple(changes), epoch=epoch)

    async def before_exec(self, entry: ChangeEntry) -> None:
        """Hook run after all checks passed and before EXEC (the embedded store journals here)."""

    def _queue_writes(
        self, pipe: Any, ops: Sequence[Op], existing: builtins.dict[str, StoredDoc], rev: int
    ) -> None:
        docs = self.keys.docs()
        for op in ops:
            key = op.ref.key
            old = existing.get(key)
            if isinstance(op, Put):
                pipe.hset(docs, key, dumps({"rev": rev, "tenant": op.tenant, "body": op.body}))
                if old is not None and old.tenant != op.tenant:
                    pipe.srem(self.keys.tenant_index(old.tenant), key)
                pipe.sadd(self.keys.tenant_index(op.tenant), key)
                pipe.sadd(self.keys.kind_index(op.ref.kind), key)
            elif isinstance(op, Delete) and old is not None:
                pipe.hdel(docs, key)
                pipe.srem(self.keys.tenant_index(old.tenant), key)
                pipe.srem(self.keys.kind_index(op.ref.kind), key)

    # --- health votes (high rate, not on the change feed) -------------------------------------

    async def put_vote(self, check_key: str, site: str, vote: dict[str, Any]) -> None:
        async with self._errors():
            await self.client.hset(self.keys.health_votes(check_key), site, dumps(vote))

    async def get_votes(self, check_key: str) -> dict[str, dict[str, Any]]:
        async with self._errors():
            raw = await self.client.hgetall(self.keys.health_votes(check_key))
        return {_text(site): json.loads(value) for site, value in raw.items()}

    # --- plumbing -----------------------------------------------------------------------------

    def blocking_client(self) -> Any:
        """A client for long blocking reads (XREAD BLOCK) that must not stall other commands."""
        return self.client

    def _errors(self) -> _ConnectionErrors:
        return _ConnectionErrors(self.description)

    async def close(self) -> None:
        await self.client.aclose()


class _ConnectionErrors:
    """Turns redis connection errors into StoreUnavailableError naming the store (never the password)."""

    def __init__(self, description: str) -> None:
        self.description = description

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError):
            raise StoreUnavailableError(
                f"cannot reach {self.description}: {exc}. Is redis-server running and the URL right?"
            ) from exc
        return False
