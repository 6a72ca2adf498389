"""A bounded, non-blocking line log: the mechanism behind the DNS query log and the proxy access log.

The hot path only appends an item to a bounded buffer (`record`); a background task renders the
pending items and writes them in one O_APPEND write every `flush_interval`, in a thread so a slow
disk never holds the event loop. Several worker processes may share one file, and logrotate's
copytruncate works. When the writer falls behind, items beyond `max_pending` are counted in
`dropped` instead of queued: logging never slows the data path down or grows without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Final, Generic, TypeVar

__all__ = ["DEFAULT_FLUSH_INTERVAL", "DEFAULT_MAX_PENDING", "LineLog"]

log = logging.getLogger(__name__)

DEFAULT_MAX_PENDING: Final = 100_000
DEFAULT_FLUSH_INTERVAL: Final = 0.2

Item = TypeVar("Item")


class LineLog(Generic[Item]):
    """Items rendered by `render` (one line each, newline included) to `path` ("-": stdout)."""

    def __init__(
        self,
        path: str,
        render: Callable[[Item], str],
        *,
        what: str,
        max_pending: int = DEFAULT_MAX_PENDING,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    ) -> None:
        self.path = path
        self.max_pending = max_pending
        self.flush_interval = flush_interval
        self.pending: deque[Item] = deque()
        self.dropped = 0
        self.written = 0
        self._render = render
        self._what = what  # "query log", "access log": for error messages
        self._fd: int | None = None
        self._task: asyncio.Task[None] | None = None

    def open(self) -> None:
        """Open the file now, so a bad path is an error at start-up rather than a silent loss later."""
        if self.path == "-":
            self._fd = sys.stdout.fileno()
            return
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)

    def append(self, item: Item) -> None:
        """On the hot path: keep `item`, or count it lost when the writer is behind."""
        pending = self.pending
        if len(pending) < self.max_pending:
            pending.append(item)
        else:
            self.dropped += 1

    def start(self) -> None:
        """Open (if not yet) and start the writer task; needs a running event loop."""
        if self._fd is None:
            self.open()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._what)

    async def close(self) -> None:
        """Write what is pending, then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._write_batch(self._take())
        if self._fd is not None and self.path != "-":
            os.close(self._fd)
        self._fd = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            await self._write_batch(self._take())

    def _take(self) -> list[Item]:
        pending = self.pending
        return [pending.popleft() for _ in range(len(pending))]

    async def _write_batch(self, batch: list[Item]) -> None:
        if not batch:
            return
        try:
            await asyncio.to_thread(self._write, batch)
        except OSError as exc:  # a full disk must not take the server down: report and go on
            self.dropped += len(batch)
            log.error("%s %s: %s; %d lines not written", self._what, self.path, exc, len(batch))

    def _write(self, batch: list[Item]) -> None:
        if self._fd is None:
            return
        view = memoryview("".join(self._render(item) for item in batch).encode())
        while view:
            view = view[os.write(self._fd, view) :]
        self.written += len(batch)
