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

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import dns.rcode
import dns.rdatatype
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from gslb.dns.message import Deferred, MalformedQuery, QueryInfo
from gslb.dns.query import name_key, read_question
from gslb.linelog import DEFAULT_FLUSH_INTERVAL, DEFAULT_MAX_PENDING, LineLog

log = logging.getLogger(__name__)

Pending = tuple[float, str, str, bytes, QueryInfo]


class QueryLog(LineLog[Pending], Collector):
    """The answered queries, written to `path` ("-": stdout) by a LineLog."""

    def __init__(
        self,
        path: str,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    ) -> None:
        super().__init__(
            path, _render, what="query log", max_pending=max_pending, flush_interval=flush_interval
        )

    def record(self, packet: bytes, client_ip: str, transport: str, info: QueryInfo) -> None:
        """Called per query: append, or count the loss when the writer is behind."""
        pending = self.pending
        if len(pending) < self.max_pending:
            pending.append((time.time(), client_ip, transport, packet, info))
        else:
            self.dropped += 1

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


def _render(item: Pending) -> str:
    return format_line(*item)


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
