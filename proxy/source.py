"""Routes, pools and health from the policy store, followed live; passive ejections written back.

RouteSource follows the store's change feed with its own Follower (the proxy needs no DNS
snapshot): it keeps the parsed `route` and `upstream` documents and the `health` states, and on
every change compiles a new RouteTable and hands it to the proxy, which swaps it by reference.

Passive ejections are written as documents of kind `outlier`, one per member and proxy node:
`outlier:<tenant>/<pool>/<address>:<port>@<node>` with body
`{"state": "ejected", "reason": ..., "until": <unix time>, "node": ...}`. They are reports for
operators and other components (the active checker's states stay authoritative): the proxy never
reads them back, and an ejection ends by itself at `until`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from gslb.feed import parse_stored
from gslb.policy.l4 import VipSpec
from gslb.policy.l7 import RouteSpec, UpstreamPoolSpec
from gslb.store import DocRef, Follower, Put, Store, StoredDoc
from proxy.l4 import VipConfig, compile_vips
from proxy.table import RouteTable, compile_table

log = logging.getLogger(__name__)

HEALTH_KIND = "health"
OUTLIER_KIND = "outlier"
REPORT_QUEUE = 1000


class RouteSource:
    def __init__(
        self,
        store: Store,
        on_table: Callable[[RouteTable], None],
        *,
        block_ms: int = 1000,
        on_vips: Callable[[dict[str, VipConfig]], Awaitable[None]] | None = None,
    ) -> None:
        self._follower = Follower(store, block_ms=block_ms, retain_docs=False)
        self._follower.add_listener(self._on_change)
        self._on_table = on_table
        self.routes: dict[str, RouteSpec] = {}
        self.pools: dict[str, UpstreamPoolSpec] = {}
        self.vips: dict[str, VipSpec] = {}
        self._on_vips = on_vips
        self.health: dict[str, bool] = {}
        self.ignored: dict[str, str] = {}
        self.table: RouteTable | None = None

    @property
    def revision(self) -> int:
        return self.table.revision if self.table is not None else 0

    async def start(self) -> None:
        await self._follower.start()

    async def stop(self) -> None:
        await self._follower.stop()

    async def wait_for(self, revision: int, timeout: float) -> None:
        await self._follower.wait_for(revision, timeout)

    async def _on_change(self, revision: int, changed: frozenset[str] | None) -> None:
        docs = self._follower.docs
        if changed is None:
            self.routes.clear()
            self.pools.clear()
            self.vips.clear()
            self.health.clear()
            self.ignored.clear()
            changed = frozenset(docs)
        relevant = vips_changed = False
        for key in changed:
            kind, _, name = key.partition(":")
            if kind not in ("route", "upstream", "vip", HEALTH_KIND):
                continue
            relevant = True
            vips_changed = vips_changed or kind in ("vip", HEALTH_KIND)
            doc = docs.get(key)
            if kind == HEALTH_KIND:
                if doc is None:
                    self.health.pop(name, None)
                else:
                    self.health[name] = doc.body.get("state", "up") == "up"
                continue
            target: dict[str, Any] = self.routes
            if kind == "upstream":
                target = self.pools
            elif kind == "vip":
                target = self.vips
            spec = self._parse(doc) if doc is not None else None
            if spec is None:
                target.pop(name, None)
            else:
                target[name] = spec
        if not relevant and self.table is not None:
            return
        if self._on_vips is not None and (vips_changed or self.table is None):
            await self._on_vips(compile_vips(self.vips.values(), self.health))
        self.table = compile_table(self.routes.values(), self.pools.values(), self.health, revision=revision)
        log.info(
            "route table at revision %d: %d routes, %d upstream pools",
            revision,
            len(self.routes),
            len(self.pools),
        )
        self._on_table(self.table)

    def _parse(self, doc: StoredDoc) -> Any:
        return parse_stored(doc, self.ignored, "the proxy")  # routes without what it cannot read


class OutlierReporter:
    """Writes passive ejections to the store in the background; a full queue drops reports (the
    data path never waits for the store)."""

    def __init__(self, store: Store, node: str) -> None:
        self._store = store
        self._node = node
        self._queue: asyncio.Queue[tuple[str, str, float]] = asyncio.Queue(REPORT_QUEUE)
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.written = 0

    def __call__(self, member_key: str, ejected: bool, reason: str, seconds: float) -> None:
        try:
            self._queue.put_nowait((member_key, reason, seconds))
        except asyncio.QueueFull:
            self.dropped += 1

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outlier-reporter")

    async def _run(self) -> None:
        while True:
            member_key, reason, seconds = await self._queue.get()
            tenant = member_key.split("/", 1)[0]
            body = {"state": "ejected", "reason": reason, "until": time.time() + seconds, "node": self._node}
            try:
                await self._store.commit(
                    [Put(DocRef(OUTLIER_KIND, f"{member_key}@{self._node}"), tenant, body)],
                    actor=f"proxy {self._node}",
                )
                self.written += 1
            except Exception as exc:  # the store may be away: the ejection itself already happened
                log.warning("could not report the ejection of %s: %s", member_key, exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
