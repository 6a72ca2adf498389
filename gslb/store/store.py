"""Store: JSON documents in Redis at one global revision, atomic multi-document commits, a change feed.

Layout (names in keys.py): one hash of envelopes, a revision counter, per-tenant and per-kind index
sets, and a stream whose entry IDs equal revisions, so "what changed after revision n" is one XRANGE.
Commits are optimistic transactions on the revision key: every commit bumps it, so WATCHing that one
key detects any concurrent commit, whatever documents it touched.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import AuthenticationError, AuthorizationError, ReadOnlyError, RedisError, WatchError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gslb.store.errors import (
    ConflictError,
    InvalidRequestError,
    KeyConflict,
    StaleRevisionError,
    StoreError,
    StoreUnavailableError,
)
from gslb.store.keys import KeySpace
from gslb.store.types import (
    Change,
    ChangeEntry,
    Delete,
    DocRef,
    EncodedDocs,
    Head,
    Op,
    Put,
    StateDump,
    StoredDoc,
)

log = logging.getLogger(__name__)

DEFAULT_FEED_MAXLEN = 100_000
DEFAULT_MAX_ENTRY_BYTES = 4 * 1024 * 1024
MAX_COMMIT_ATTEMPTS = 50
# Full-jitter backoff between lost WATCH races: contenders spread out instead of colliding again.
RETRY_BACKOFF_BASE = 0.004
RETRY_BACKOFF_CAP = 0.5
# A blocking feed read that outlives its BLOCK time by this much means a dead (not closed) connection.
FEED_READ_GRACE = 5.0
# Stores with more documents than this are loaded in pages of this many (see Store.load_all).
LOAD_PAGE = 10_000
LOAD_ATTEMPTS = 5
ENTRY_FIELD = b"entry"


def dumps(value: Any) -> bytes:
    """Stable compact JSON, so equal documents are equal bytes. NaN/Infinity are not JSON: refused."""
    return json.dumps(
        value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
    ).encode()


def envelope_bytes(body_json: bytes, rev: int, tenant_json: bytes) -> bytes:
    """dumps({"body", "rev", "tenant"}) from the already encoded body and tenant."""
    return b'{"body":%s,"rev":%d,"tenant":%s}' % (body_json, rev, tenant_json)


def decode_envelope(key: str, raw: bytes | str) -> StoredDoc:
    try:
        data = json.loads(raw)
        return StoredDoc(DocRef.parse(key), str(data["tenant"]), int(data["rev"]), dict(data["body"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(
            f"stored document {key!r} is unreadable ({type(exc).__name__}: {exc}); was this key prefix "
            "written by something other than gslb?"
        ) from None


def stream_id_revision(entry_id: Any) -> int:
    return int(text(entry_id).partition("-")[0])


def decode_stream_entry(entry_id: bytes | str, fields: Mapping[Any, Any]) -> ChangeEntry:
    """One stream entry; an entry we cannot read becomes a reload marker, so followers resync."""
    rev = stream_id_revision(entry_id)
    raw = fields.get(ENTRY_FIELD)
    if raw is None:
        raw = fields.get(ENTRY_FIELD.decode())
    try:
        if raw is None:
            raise ValueError("no entry field")
        entry = ChangeEntry.from_json(json.loads(raw))
        if entry.rev != rev:
            raise ValueError(f"payload says revision {entry.rev}")
    except (ValueError, KeyError, TypeError, StoreError) as exc:
        log.error(
            "change feed entry %s is unreadable (%s); treating it as a reload marker", text(entry_id), exc
        )
        return ChangeEntry(rev, time.time(), None, (), reload=True)
    return entry


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def optional_text(value: bytes | str | None) -> str | None:
    return None if value is None else text(value)


def describe_client(client: Any) -> str:
    """'Redis at host:port/db' from a client's pool settings, for error messages (no password)."""
    try:
        kwargs = client.connection_pool.connection_kwargs
    except AttributeError:
        return "Redis"
    if kwargs.get("path"):
        return f"Redis at unix:{kwargs['path']}"
    return f"Redis at {kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def _encode_body(op: Put) -> bytes:
    try:
        return dumps(op.body)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"{op.ref.key}: the body is not plain JSON ({exc})") from None


def _check_ops(ops: Sequence[Op]) -> None:
    if not ops:
        raise InvalidRequestError("a commit needs at least one operation")
    for op in ops:
        if not isinstance(op, Put | Delete):
            raise InvalidRequestError(f"a commit takes Put and Delete operations, not {type(op).__name__}")
    counts = collections.Counter(op.ref.key for op in ops)
    if len(counts) != len(ops):
        repeated = sorted(key for key, count in counts.items() if count > 1)
        raise InvalidRequestError(f"a commit may touch each document once; repeated: {', '.join(repeated)}")


class Store:
    """The document store over one redis.asyncio client (created with decode_responses=False)."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        keys: KeySpace | None = None,
        feed_maxlen: int = DEFAULT_FEED_MAXLEN,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        description: str | None = None,
        max_commit_attempts: int = MAX_COMMIT_ATTEMPTS,
    ) -> None:
        if feed_maxlen < 1 or max_entry_bytes < 1 or max_commit_attempts < 1:
            raise InvalidRequestError("feed_maxlen, max_entry_bytes and max_commit_attempts must be positive")
        self.client = client
        self.keys = keys or KeySpace()
        self.feed_maxlen = feed_maxlen
        self.max_entry_bytes = max_entry_bytes
        self.max_commit_attempts = max_commit_attempts
        self.description = description or describe_client(client)

    # --- reads --------------------------------------------------------------------------------

    async def revision(self) -> int:
        """The current global revision; 0 for an empty store."""
        async with self._errors("read the revision"):
            value = await self.client.get(self.keys.revision())
        return int(value or 0)

    async def head(self) -> Head:
        """The current revision and the commit that made it, read together."""
        async with self._errors("read the revision"):
            rev, commit_id = await self.client.mget([self.keys.revision(), self.keys.head_commit()])
        return Head(int(rev or 0), optional_text(commit_id))

    async def get(self, ref: DocRef) -> StoredDoc | None:
        async with self._errors(f"read {ref.key}"):
            raw = await self.client.hget(self.keys.docs(), ref.key)
        return None if raw is None else decode_envelope(ref.key, raw)

    async def get_many(self, refs: Iterable[DocRef]) -> builtins.dict[str, StoredDoc]:
        """The documents that exist among `refs`, keyed by ref.key."""
        keys = list(dict.fromkeys(ref.key for ref in refs))
        if not keys:
            return {}
        async with self._errors("read documents"):
            raws = await self.client.hmget(self.keys.docs(), keys)
        return {
            key: decode_envelope(key, raw) for key, raw in zip(keys, raws, strict=True) if raw is not None
        }

    async def list(self, *, kind: str | None = None, tenant: str | None = None) -> builtins.list[StoredDoc]:
        """Documents of one kind and/or tenant (all without filters), sorted by key."""
        if kind is None and tenant is None:
            return sorted((await self.load_all()).docs.values(), key=lambda doc: doc.ref.key)
        index_keys = []
        if kind is not None:
            index_keys.append(self.keys.kind_index(kind))
        if tenant is not None:
            index_keys.append(self.keys.tenant_index(tenant))
        async with self._errors("list documents"):
            members = await self.client.sinter(index_keys)
        keys = sorted(text(member) for member in members)
        # A document deleted between the two reads is simply not listed.
        found = await self.get_many(DocRef.parse(key) for key in keys)
        return [found[key] for key in keys if key in found]

    async def list_keys(self, *, kind: str, tenant: str | None = None) -> builtins.list[str]:
        """Keys of one kind (and tenant), sorted, without reading the documents: for paging."""
        index_keys = [self.keys.kind_index(kind)]
        if tenant is not None:
            index_keys.append(self.keys.tenant_index(tenant))
        async with self._errors("list documents"):
            members = await self.client.sinter(index_keys)
        return sorted(text(member) for member in members)

    async def load_all(self) -> StateDump:
        """Every document and the revision they are at (never a mix of two revisions).

        A small store is read in one MULTI/EXEC. A large one is read in pages (HSCAN) so that no
        single reply is hundreds of megabytes (which blocks Redis for everyone and outlasts client
        timeouts); the pages may straddle writes, so the change feed from the revision read first
        is replayed over them, which makes the result exactly the store at the last revision
        replayed. If the feed cannot cover the scan (trimmed, or a commit too big for it), the
        scan is retried, and after LOAD_ATTEMPTS the store is read atomically after all.
        """
        async with self._errors("load all documents"):
            size = await self.client.hlen(self.keys.docs())
        if size > LOAD_PAGE:
            for _ in range(LOAD_ATTEMPTS):
                dump = await self._load_paged()
                if dump is not None:
                    return dump
            log.warning("the store kept changing under a paged load; reading it in one transaction")
        return await self._load_atomic()

    async def _load_atomic(self) -> StateDump:
        async with self._errors("load all documents"), self.client.pipeline(transaction=True) as pipe:
            pipe.get(self.keys.revision())
            pipe.get(self.keys.head_commit())
            pipe.hgetall(self.keys.docs())
            raw_rev, raw_head, everything = await pipe.execute()
        docs = EncodedDocs(decode_envelope)
        while everything:
            raw_key, raw = everything.popitem()  # the reply shrinks as the documents are filed
            docs.set_encoded(text(raw_key), raw if isinstance(raw, bytes) else raw.encode())
        return StateDump(int(raw_rev or 0), docs, optional_text(raw_head))

    async def _load_paged(self) -> StateDump | None:
        """A paged load made consistent by the feed, or None when the feed cannot cover it."""
        async with self._errors("load all documents"), self.client.pipeline(transaction=True) as pipe:
            pipe.get(self.keys.revision())
            pipe.get(self.keys.head_commit())
            raw_rev, raw_head = await pipe.execute()
        rev = int(raw_rev or 0)
        commit_id = optional_text(raw_head)
        docs = EncodedDocs(decode_envelope)
        cursor = 0
        while True:
            async with self._errors("load all documents"):
                cursor, page = await self.client.hscan(self.keys.docs(), cursor, count=LOAD_PAGE)
            assert isinstance(page, dict)  # redis-py types HSCAN's page as list | dict; it is a dict
            for raw_key, raw in page.items():
                docs.set_encoded(text(raw_key), raw if isinstance(raw, bytes) else raw.encode())
            if not cursor:
                break
        while True:
            entries = await self.changes_since(rev, count=LOAD_PAGE)
            if entries is None:
                return None
            if not entries:
                return StateDump(rev, docs, commit_id)
            for entry in entries:
                if entry.reload:
                    return None
                for change in entry.changes:
                    key = change.ref.key
                    if change.op == "delete" or change.body is None:
                        docs.pop(key, None)
                    else:
                        docs[key] = StoredDoc(change.ref, change.tenant, entry.rev, change.body)
                rev = entry.rev
                commit_id = entry.commit_id

    # --- the change feed ----------------------------------------------------------------------

    async def changes_since(self, rev: int, *, count: int = 1000) -> builtins.list[ChangeEntry] | None:
        """Entries after `rev` (at most `count`), or None when the caller must reload everything.

        None means the stream no longer holds rev+1 (trimmed), or the store is behind `rev` (a Redis
        that lost its data): either way the caller's state cannot be patched forward.
        """
        if rev < 0 or count < 1:
            raise InvalidRequestError("changes_since needs rev >= 0 and count >= 1")
        async with self._errors("read the change feed"), self.client.pipeline(transaction=True) as pipe:
            pipe.xrange(self.keys.changes(), min=f"{rev + 1}-0", max="+", count=count)
            pipe.get(self.keys.revision())
            raw_entries, raw_rev = await pipe.execute()
        current = int(raw_rev or 0)
        if current < rev:
            return None
        if current == rev:
            return []
        entries = [decode_stream_entry(entry_id, fields) for entry_id, fields in raw_entries]
        if not entries or entries[0].rev != rev + 1:
            return None
        return entries

    async def read_feed(self, after: int, *, block_ms: int, count: int = 1000) -> builtins.list[ChangeEntry]:
        """Block up to block_ms for entries after revision `after`; [] when none came."""
        async with self._errors("read the change feed"):
            # Bounded even if the connection is silently dead (no RST): then no reply ever comes.
            async with asyncio.timeout(block_ms / 1000 + FEED_READ_GRACE):
                result = await self.blocking_client().xread(
                    {self.keys.changes(): f"{after}-0"}, count=count, block=block_ms
                )
        if not result:
            return []
        # RESP2 answers [[stream, entries]], RESP3 {stream: [entries]}: one stream either way.
        streams = result.values() if isinstance(result, dict) else (entries for _, entries in result)
        return [decode_stream_entry(entry_id, fields) for entries in streams for entry_id, fields in entries]

    # --- writes -------------------------------------------------------------------------------

    async def commit(
        self, ops: Sequence[Op], *, base_revision: int | None = None, actor: str | None = None
    ) -> int:
        """Apply every op atomically at one new revision and return it; nothing is written on any error.

        Raises ConflictError listing every failed if_rev, StaleRevisionError when `base_revision` is
        no longer current (or, without one, when other writers won every one of our retries), and
        InvalidRequestError for an empty commit, a document named twice or a non-JSON body. If the
        connection drops during EXEC the outcome is unknown: read the revision before retrying.
        """
        ops = builtins.list(ops)
        _check_ops(ops)
        bodies = {op.ref.key: _encode_body(op) for op in ops if isinstance(op, Put)}
        for attempt in range(self.max_commit_attempts):
            try:
                async with self._errors("commit"):
                    return await self._attempt(ops, bodies, base_revision, actor)
            except WatchError:
                if base_revision is not None:
                    raise StaleRevisionError(base_revision, await self.revision()) from None
                await asyncio.sleep(
                    random.uniform(0, min(RETRY_BACKOFF_CAP, RETRY_BACKOFF_BASE * 2**attempt))
                )
        current = await self.revision()
        raise StaleRevisionError(
            current,
            current,
            f"other writers committed during each of {self.max_commit_attempts} attempts; nothing "
            "written. Retry later",
        )

    async def _attempt(
        self, ops: Sequence[Op], bodies: Mapping[str, bytes], base_revision: int | None, actor: str | None
    ) -> int:
        keys = [op.ref.key for op in ops]
        # Everything the checks need in one atomic read, outside WATCH: a concurrent commit can then
        # only spoil this attempt during the short WATCH..EXEC window, which keeps retries rare.
        async with self.client.pipeline(transaction=True) as reads:
            reads.xrevrange(self.keys.changes(), count=1)
            reads.get(self.keys.revision())
            reads.get(self.keys.head_commit())
            reads.hmget(self.keys.docs(), keys)
            tail, raw_rev, raw_head, raws = await reads.execute()
        current = int(raw_rev or 0)
        if base_revision is not None and current != base_revision:
            raise StaleRevisionError(base_revision, current)
        existing = {
            key: decode_envelope(key, raw) for key, raw in zip(keys, raws, strict=True) if raw is not None
        }
        conflicts = []
        for op in ops:
            actual = existing[op.ref.key].rev if op.ref.key in existing else 0
            if op.if_rev is not None and actual != op.if_rev:
                conflicts.append(KeyConflict(op.ref.key, op.if_rev, actual))
        if conflicts:
            raise ConflictError(conflicts)
        # Redis does not roll back a transaction whose XADD fails: refuse before anything is queued.
        feed_rev = stream_id_revision(tail[0][0]) if tail else 0
        if feed_rev > current:
            raise StoreError(
                f"{self.description}: the change feed is at revision {feed_rev} but the revision key "
                f"at {current}; the store under prefix {self.keys.prefix!r} was modified outside gslb "
                "(or Redis evicted keys: disable eviction). Restore it from a backup"
            )
        new_rev = current + 1
        commit_id = uuid.uuid4().hex
        entry = ChangeEntry(
            new_rev,
            time.time(),
            actor,
            self._changes(ops, existing),
            commit_id=commit_id,
            parent_id=optional_text(raw_head),
        )
        payload = self._feed_payload(entry, bodies)
        async with self.client.pipeline(transaction=True) as pipe:
            # After WATCH the pipeline runs commands immediately, until multi() starts queueing.
            await pipe.watch(self.keys.revision())
            if int(await pipe.get(self.keys.revision()) or 0) != current:
                raise WatchError("another commit landed after the checks")
            async with self._journaled(entry):
                pipe.multi()
                self._queue_writes(pipe, ops, existing, bodies, new_rev)
                pipe.set(self.keys.revision(), new_rev)
                pipe.set(self.keys.head_commit(), commit_id)
                pipe.xadd(
                    self.keys.changes(),
                    {ENTRY_FIELD: payload},
                    id=f"{new_rev}-0",
                    maxlen=self.feed_maxlen,
                    approximate=True,
                )
                await pipe.execute()
        return new_rev

    @staticmethod
    def _changes(ops: Sequence[Op], existing: Mapping[str, StoredDoc]) -> tuple[Change, ...]:
        changes = []
        for op in ops:
            if isinstance(op, Put):
                changes.append(Change("put", op.ref, op.tenant, op.body))
            else:
                old = existing.get(op.ref.key)
                changes.append(Change("delete", op.ref, old.tenant if old else "", None))
        return tuple(changes)

    def _feed_payload(self, entry: ChangeEntry, bodies: Mapping[str, bytes]) -> bytes:
        marker = dumps(entry.as_reload_marker().to_json())
        # Huge commits (bulk imports) would bloat the stream and every follower's read: followers
        # reload instead. Skip serialising an entry that is certainly too big.
        if sum(len(body) for body in bodies.values()) > self.max_entry_bytes:
            return marker
        payload = dumps(entry.to_json())
        return marker if len(payload) > self.max_entry_bytes else payload

    def _queue_writes(
        self,
        pipe: Any,
        ops: Sequence[Op],
        existing: Mapping[str, StoredDoc],
        bodies: Mapping[str, bytes],
        rev: int,
    ) -> None:
        # Grouped into one command per key: a 100k-document import is a handful of commands, not
        # 300k. Safe to reorder, since no document appears twice in a commit and so no set member
        # is both added to and removed from the same index.
        puts: dict[str, bytes] = {}
        deletes: list[str] = []
        index_adds: dict[str, list[str]] = collections.defaultdict(list)
        index_removes: dict[str, list[str]] = collections.defaultdict(list)
        tenants: dict[str, bytes] = {}
        for op in ops:
            key = op.ref.key
            old = existing.get(key)
            if isinstance(op, Put):
                if op.tenant not in tenants:
                    tenants[op.tenant] = dumps(op.tenant)
                puts[key] = envelope_bytes(bodies[key], rev, tenants[op.tenant])
                if old is not None and old.tenant != op.tenant:
                    index_removes[self.keys.tenant_index(old.tenant)].append(key)
                index_adds[self.keys.tenant_index(op.tenant)].append(key)
                index_adds[self.keys.kind_index(op.ref.kind)].append(key)
            elif old is not None:
                deletes.append(key)
                index_removes[self.keys.tenant_index(old.tenant)].append(key)
                index_removes[self.keys.kind_index(op.ref.kind)].append(key)
        if puts:
            pipe.hset(self.keys.docs(), mapping=puts)
        if deletes:
            pipe.hdel(self.keys.docs(), *deletes)
        for index, members in index_removes.items():
            pipe.srem(index, *members)
        for index, members in index_adds.items():
            pipe.sadd(index, *members)

    def _journaled(self, entry: ChangeEntry) -> contextlib.AbstractAsyncContextManager[None]:
        """Wraps EXEC once every check passed; the embedded store makes the entry durable here."""
        return contextlib.nullcontext()

    # --- health votes (high rate, not on the change feed) -------------------------------------

    async def put_vote(self, check_key: str, site: str, vote: Mapping[str, Any]) -> None:
        """Record one checker site's latest vote for one check target (replaces its previous vote)."""
        try:
            payload = dumps(dict(vote))
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"vote of {site} for {check_key} is not plain JSON ({exc})") from None
        async with self._errors("write a health vote"):
            await self.client.hset(self.keys.health_votes(check_key), site, payload)

    async def get_votes(self, check_key: str) -> builtins.dict[str, builtins.dict[str, Any]]:
        """site -> vote for one check target."""
        async with self._errors("read health votes"):
            raw = await self.client.hgetall(self.keys.health_votes(check_key))
        return {text(site): json.loads(value) for site, value in raw.items()}

    async def put_votes(self, site: str, votes: Mapping[str, Mapping[str, Any]]) -> None:
        """Record one site's votes for many check targets in one round trip (a checker's batch)."""
        if not votes:
            return
        try:
            payloads = {key: dumps(dict(vote)) for key, vote in votes.items()}
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"a vote of {site} is not plain JSON ({exc})") from None
        async with self._errors("write health votes"), self.client.pipeline(transaction=False) as pipe:
            for key, payload in payloads.items():
                pipe.hset(self.keys.health_votes(key), site, payload)
            await pipe.execute()

    async def get_votes_many(
        self, check_keys: Iterable[str]
    ) -> builtins.dict[str, builtins.dict[str, builtins.dict[str, Any]]]:
        """check key -> site -> vote, for many check targets in one round trip."""
        keys = builtins.list(dict.fromkeys(check_keys))
        if not keys:
            return {}
        async with self._errors("read health votes"), self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(self.keys.health_votes(key))
            raws = await pipe.execute()
        result: builtins.dict[str, builtins.dict[str, builtins.dict[str, Any]]] = {}
        for key, raw in zip(keys, raws, strict=True):
            votes = {}
            for site, value in raw.items():
                try:
                    votes[text(site)] = json.loads(value)
                except ValueError:
                    log.warning("unreadable health vote of %s for %s ignored", text(site), key)
            result[key] = votes
        return result

    async def delete_votes(self, check_keys: Iterable[str]) -> None:
        """Forget every site's votes for check targets nothing probes any more."""
        keys = [self.keys.health_votes(key) for key in dict.fromkeys(check_keys)]
        if keys:
            async with self._errors("delete health votes"):
                await self.client.delete(*keys)

    # --- plumbing -----------------------------------------------------------------------------

    def blocking_client(self) -> Any:
        """The client for long blocking reads; pooled, so a blocked XREAD holds only its own connection."""
        return self.client

    @contextlib.asynccontextmanager
    async def _errors(self, action: str) -> AsyncIterator[None]:
        """Turns redis errors into the store's tree, naming the store (never the password)."""
        try:
            yield
        except (WatchError, StoreError):
            raise  # WatchError is the commit loop's signal to retry
        except ReadOnlyError as exc:
            raise StoreUnavailableError(
                f"{self.description} is a read-only replica ({exc}); point --redis-url at the primary"
            ) from exc
        except (AuthenticationError, AuthorizationError) as exc:
            raise StoreUnavailableError(
                f"{self.description} refused our credentials ({exc}); check the user and password in "
                "--redis-url"
            ) from exc
        except (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError) as exc:
            raise StoreUnavailableError(
                f"cannot {action}: {self.description} is unreachable ({str(exc) or type(exc).__name__}). "
                "Is redis-server running, and is --redis-url right?"
            ) from exc
        except RedisError as exc:
            raise StoreError(f"{self.description} refused to {action}: {exc}") from exc

    async def close(self) -> None:
        await self.client.aclose()
