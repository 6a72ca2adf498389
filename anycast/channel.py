"""The ExaBGP process API as an asyncio channel: write command lines, await their acknowledgements.

ExaBGP acknowledges every command of a process in the order it received them (`done` or `error`,
with `exabgp.api.ack`; we also send `enable-ack` first so a configuration without it still works).
The channel matches acknowledgements to commands by that order. A command whose acknowledgement
times out stays queued, so a late `done` is still matched to it and never to a later command.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anycast.errors import ChannelClosedError, CommandFailedError
from anycast.messages import classify

log = logging.getLogger(__name__)

EventListener = Callable[[dict[str, Any]], None]


@dataclass
class _Pending:
    line: str
    future: asyncio.Future[str]
    output: list[str] = field(default_factory=list)


class ExaBGPChannel:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._pending: collections.deque[_Pending] = collections.deque()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[EventListener] = []
        self.shutdown = asyncio.Event()  # ExaBGP said it is stopping
        self.closed = asyncio.Event()  # ExaBGP closed our stdin: it is gone

    @classmethod
    async def from_stdio(cls) -> ExaBGPChannel:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, sys.stdout)
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
        return cls(reader, writer)

    def add_listener(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        self._task = asyncio.create_task(self._read_loop(), name="exabgp-reader")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            self._writer.close()

    async def command(self, line: str, *, timeout: float) -> list[str]:
        """Send one command; return its output lines once ExaBGP says `done`.

        Raises CommandFailedError on `error`, TimeoutError when no acknowledgement comes in time,
        ChannelClosedError when ExaBGP went away.
        """
        if "\n" in line or "\r" in line:
            raise ValueError(f"an ExaBGP command is one line: {line!r}")
        if self.closed.is_set():
            raise ChannelClosedError("ExaBGP closed the channel")
        async with self._lock:  # the write order is the acknowledgement order
            pending = _Pending(line, asyncio.get_running_loop().create_future())
            # A caller that timed out no longer awaits the future: mark its outcome as seen.
            pending.future.add_done_callback(_consume)
            self._pending.append(pending)
            try:
                self._writer.write(line.encode("ascii") + b"\n")
                await self._writer.drain()
            except (ConnectionError, OSError) as exc:
                self.closed.set()
                raise ChannelClosedError(f"cannot write to ExaBGP: {exc}") from None
        answer = await asyncio.wait_for(asyncio.shield(pending.future), timeout)
        if answer != "done":
            raise CommandFailedError(f"ExaBGP answered {answer!r} to {line!r}")
        return pending.output

    async def _read_loop(self) -> None:
        try:
            while True:
                raw = await self._reader.readline()
                if not raw:
                    break
                self._dispatch(raw.decode("ascii", "replace"))
        except (ConnectionError, OSError, ValueError) as exc:
            log.error("reading from ExaBGP failed: %s", exc)
        finally:
            self.closed.set()
            while self._pending:
                pending = self._pending.popleft()
                if not pending.future.done():
                    pending.future.set_exception(ChannelClosedError("ExaBGP closed the channel"))

    def _dispatch(self, line: str) -> None:
        message = classify(line)
        if message.kind == "ack":
            if not self._pending:
                log.warning("ExaBGP acknowledged a command we did not send: %r", message.text)
                return
            pending = self._pending.popleft()
            if not pending.future.done():
                pending.future.set_result(message.text)
        elif message.kind == "shutdown":
            log.info("ExaBGP is shutting down")
            self.shutdown.set()
        elif message.kind == "event" and message.event is not None:
            for listener in self._listeners:
                listener(message.event)
        elif self._pending:
            self._pending[0].output.append(message.text)
        elif message.text:
            log.debug("ExaBGP said: %s", message.text)


def _consume(future: asyncio.Future[str]) -> None:
    if not future.cancelled():
        future.exception()
