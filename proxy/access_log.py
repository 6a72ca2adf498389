"""Structured access log: one JSON line per request, written off the data path.

Per request the proxy appends a tuple to a bounded buffer; `gslb.linelog.LineLog` formats and
writes the lines off the data path (batched, O_APPEND, bounded: see there).

A line: {"ts": "2026-11-28T09:30:00.123456Z", "client": "192.0.2.1", "method": "GET",
"host": "www.example.com", "path": "/api?q=1", "status": 200, "route": "acme/site",
"upstream": "127.0.0.1:8080", "attempts": 1, "ms": 1.234}
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from gslb.linelog import LineLog

Entry = tuple[float, str, bytes, bytes, bytes, int, str, str, int, float]


class AccessLog(LineLog[Entry]):
    """The proxied requests, written to `path` ("-": stdout) by a LineLog."""

    def __init__(self, path: str, *, max_pending: int = 100_000, flush_interval: float = 0.2) -> None:
        super().__init__(
            path, _render, what="access log", max_pending=max_pending, flush_interval=flush_interval
        )

    def open(self) -> None:
        """Open now (a bad path is an error at start-up, not a silent loss later) and start writing."""
        super().open()
        self.start()

    def record(self, entry: Entry) -> None:
        self.append(entry)


def _render(entry: Entry) -> str:
    ts, client, method, host, path, status, route, upstream, attempts, seconds = entry
    record = {
        "ts": datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
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
    return json.dumps(record, separators=(",", ":")) + "\n"
