"""Optional query log: one JSON line per answered query, written off the hot path.

Per query the server only appends (time, client, transport, packet, info) to a bounded buffer; a
background task decodes the question and writes the lines in batches every `flush_interval`. When
the writer falls behind (slow disk, a flood) queries beyond `max_pending` are not logged and are
counted instead (`gslb_dns_query_log_dropped`): the log never slows answers down or grows without
bound. Lines are appended with O_APPEND in whole batches, so several worker processes may share one
file, and logrotate's copytruncate works.

A line: {"ts": "2026-11-28T08:45:01.123456Z", "client": "192.0.2.1", "transport": "udp",
"name": "www.example.com.", "type": "A", "rcode": "NOERROR", "zone": "example.com.", "pool": null}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import dns.rcode
import dns.rdatatype
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from gslb.dns.message import Deferred, MalformedQuery, QueryInfo
from gslb.dns.query import name_key, read_question

log = logging.getLogger(__name__)

DEFAULT_MAX_PENDING: Final = 100_000
DEFAULT_FLUSH_INTERVAL: Final = 0.2

Pending = tuple[float, str, str, bytes, QueryInfo]


class QueryLog(Collector):
    """A bounded buffer of answered queries and the task that writes them to `path` ("-": stdout)."""

    def __init__(
        self,
        path: str,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    ) -> None:
        self.path = path
        self.max_pending = max_pending
        self.flush_interval = flush_interval
        self.pending: deque[Pending] = deque()
        self.dropped = 0
        self.written = 0
        self._fd: int | None = None
        self._task: asyncio.Task[None] | None = None

    def open(self) -> None:
        """Open the file now, so a bad path is an error at start-up rather than a silent loss later."""
        if self.path == "-":
            self._fd = sys.stdout.fileno()
            return
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)

    def record(self, packet: bytes, client_ip: str, transport: str, info: QueryInfo) -> None:
        """Called per query: append, or count the loss when the writer is behind."""
        pending = self.pending
        if len(pending) < self.max_pending:
            pending.append((time.time(), client_ip, transport, packet, info))
        else:
            self.dropped += 1

    async def start(self) -> None:
        if self._fd is None:
            self.open()
        self._task = asyncio.create_task(self._run(), name="query-log")

    async def close(self) -> None:
        """Write what is pending, then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self._write, self._take())
        if self._fd is not None and self.path != "-":
            os.close(self._fd)
        self._fd = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            batch = self._take()
            if batch:
                try:
                    await asyncio.to_thread(self._write, batch)
                except OSError as exc:  # a full disk must not take DNS down: report and go on
                    self.dropped += len(batch)
                    log.error("query log %s: %s; %d queries not logged", self.path, exc, len(batch))

    def _take(self) -> list[Pending]:
        pending = self.pending
        return [pending.popleft() for _ in range(len(pending))]

    def _write(self, batch: list[Pending]) -> None:
        if not batch or self._fd is None:
            return
        data = "".join(format_line(*item) for item in batch).encode()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.written += len(batch)

    def collect(self) -> Iterator[CounterMetricFamily]:
        written = CounterMetricFamily("gslb_dns_query_log_written", "queries written to the query log")
        written.add_metric((), self.written)
        yield written
        dropped = CounterMetricFamily(
            "gslb_dns_query_log_dropped", "answered queries not logged: the writer was behind or failing"
        )
        dropped.add_metric((), self.dropped)
        yield dropped


class LoggedResponder:
    """A responder whose answered queries also go to a QueryLog (wrap it only when logging is on)."""

    __slots__ = ("_inner", "_record")

    def __init__(self, responder: object, query_log: QueryLog) -> None:
        self._inner: Callable[..., tuple[bytes, QueryInfo] | tuple[None, None]] = responder.answer_with_info  # type: ignore[attr-defined]
        self._record = query_log.record

    def answer_with_info(
        self, packet: bytes, client_ip: str, *, tcp: bool
    ) -> tuple[bytes | Deferred, QueryInfo] | tuple[None, None]:
        result = self._inner(packet, client_ip, tcp=tcp)
        info = result[1]
        if info is not None:
            self._record(packet, client_ip, "tcp" if tcp else "udp", info)
        return result


def format_line(when: float, client_ip: str, transport: str, packet: bytes, info: QueryInfo) -> str:
    try:
        question, name_len, _qtype, _qclass, _end = read_question(packet)
        name = name_key(question[:name_len].lower())
    except MalformedQuery:
        name = None
    stamp = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    line = {
        "ts": stamp,
        "client": client_ip,
        "transport": transport,
        "name": name,
        "type": _type_text(info.qtype),
        "rcode": _rcode_text(info.rcode),
        "zone": info.zone,
        "pool": info.pool,
    }
    return json.dumps(line, separators=(",", ":")) + "\n"


def _type_text(qtype: int) -> str:
    try:
        return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(qtype))
    except ValueError:
        return str(qtype)


def _rcode_text(rcode: int) -> str:
    try:
        return dns.rcode.to_text(dns.rcode.Rcode.make(rcode))
    except ValueError:
        return str(rcode)
