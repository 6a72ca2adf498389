"""Structured access log: one JSON line per request, written off the data path.

Per request the proxy appends a tuple to a bounded buffer; a background task formats and writes the
lines in batches every `flush_interval` with O_APPEND (workers may share a file; logrotate's
copytruncate works). When the writer falls behind, requests are counted as dropped instead of
logged: the log never slows the proxy down or grows without bound.

A line: {"ts": "2026-11-28T09:30:00.123456Z", "client": "192.0.2.1", "method": "GET",
"host": "www.example.com", "path": "/api?q=1", "status": 200, "route": "acme/site",
"upstream": "127.0.0.1:8080", "attempts": 1, "ms": 1.234}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

Entry = tuple[float, str, bytes, bytes, bytes, int, str, str, int, float]


class AccessLog:
    def __init__(self, path: str, *, max_pending: int = 100_000, flush_interval: float = 0.2) -> None:
        self.path = path
        self.max_pending = max_pending
        self.flush_interval = flush_interval
        self.pending: deque[Entry] = deque()
        self.dropped = 0
        self.written = 0
        self._fd: int | None = None
        self._task: asyncio.Task[None] | None = None

    def open(self) -> None:
        """Open now: a bad path is an error at start-up, not a silent loss later."""
        if self.path == "-":
            self._fd = sys.stdout.fileno()
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        self._task = asyncio.get_event_loop().create_task(self._run(), name="access-log")

    def record(self, entry: Entry) -> None:
        if len(self.pending) < self.max_pending:
            self.pending.append(entry)
        else:
            self.dropped += 1

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            self.flush()

    def flush(self) -> None:
        pending = self.pending
        if not pending or self._fd is None:
            return
        lines = []
        while pending:
            ts, client, method, host, path, status, route, upstream, attempts, seconds = pending.popleft()
            stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            record = {
                "ts": stamp,
                "client": client,
                "method": method.decode("latin-1"),
                "host": host.decode("latin-1"),
                "path": path.decode("latin-1"),
                "status": status,
                "route": route,
                "upstream": upstream,
                "attempts": attempts,
                "ms": round(seconds * 1000, 3),
            }
            lines.append(json.dumps(record, separators=(",", ":")))
        data = ("\n".join(lines) + "\n").encode()
        try:
            os.write(self._fd, data)
            self.written += len(lines)
        except OSError as exc:
            self.dropped += len(lines)
            log.error("access log write failed: %s", exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.flush()
        if self._fd is not None and self.path != "-":
            os.close(self._fd)
        self._fd = None
