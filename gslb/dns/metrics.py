"""DNS query metrics counted on the hot path for almost nothing, exported to Prometheus at scrape time.

Per query the server does one dict increment keyed by the QueryInfo tuple and one bisect into the
latency buckets; prometheus_client's labelled counters would cost microseconds per query instead.
Counting is about a third of the cost of a memoised answer, so it is written out flat below.
"""

from __future__ import annotations

import bisect
from bisect import bisect_left
from collections.abc import Iterator
from time import perf_counter

import dns.rcode
import dns.rdatatype
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from gslb.dns.message import Deferred, QueryInfo

# One query in 16 is timed: two clock reads and a bisect would cost a fifth of a memoised answer,
# and a 1-in-16 sample of hundreds of thousands of queries a second describes latency as well.
LATENCY_SAMPLE_MASK = 15
LATENCY_BUCKETS = (0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05)


class QueryMetrics(Collector):
    __slots__ = ("dropped", "latency_counts", "latency_sum", "tcp_counts", "udp_counts")

    def __init__(self) -> None:
        self.udp_counts: dict[QueryInfo, int] = {}
        self.tcp_counts: dict[QueryInfo, int] = {}
        self.latency_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.dropped = 0

    def count(self, info: QueryInfo, transport: str, seconds: float) -> None:
        counts = self.tcp_counts if transport == "tcp" else self.udp_counts
        counts[info] = counts.get(info, 0) + 1
        self.latency_counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        queries = CounterMetricFamily(
            "gslb_dns_queries",
            "DNS queries answered, by zone, query type, response code, dynamic pool and transport",
            labels=("zone", "qtype", "rcode", "pool", "transport"),
        )
        for transport, counts in (("udp", self.udp_counts), ("tcp", self.tcp_counts)):
            for info, value in list(counts.items()):
                queries.add_metric(
                    (
                        info.zone or "",
                        dns.rdatatype.to_text(dns.rdatatype.RdataType.make(info.qtype))
                        if 0 <= info.qtype <= 65535
                        else str(info.qtype),
                        dns.rcode.to_text(dns.rcode.Rcode.make(info.rcode))
                        if 0 <= info.rcode <= 4095
                        else str(info.rcode),
                        info.pool or "",
                        transport,
                    ),
                    value,
                )
        yield queries
        dropped = CounterMetricFamily(
            "gslb_dns_dropped", "packets dropped without an answer (runts, responses)"
        )
        dropped.add_metric((), self.dropped)
        yield dropped
        buckets = []
        cumulative = 0
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), self.latency_counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        latency = HistogramMetricFamily(
            "gslb_dns_answer_seconds",
            "time to compute an answer (parse, lookup, build), measured on one query in 16",
        )
        latency.add_metric((), buckets, self.latency_sum)
        yield latency


class CountingAnswerer:
    """Wraps a Responder so the listeners count every query."""

    __slots__ = ("_answer_with_info", "_latency", "_metrics", "_seen", "_tcp", "_udp")

    def __init__(self, responder: object, metrics: QueryMetrics) -> None:
        self._answer_with_info = responder.answer_with_info  # type: ignore[attr-defined]
        self._metrics = metrics
        self._udp = metrics.udp_counts
        self._tcp = metrics.tcp_counts
        self._latency = metrics.latency_counts
        self._seen = 0

    def answer(self, packet: bytes, client_ip: str, *, tcp: bool) -> bytes | Deferred | None:
        seen = self._seen = self._seen + 1
        timed = seen & LATENCY_SAMPLE_MASK == 1  # the 1st, 17th, 33rd... query
        started = perf_counter() if timed else 0.0
        response, info = self._answer_with_info(packet, client_ip, tcp=tcp)
        if info is None:
            self._metrics.dropped += 1
            return None
        counts = self._tcp if tcp else self._udp
        counts[info] = counts.get(info, 0) + 1
        if timed:
            seconds = perf_counter() - started
            self._latency[bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self._metrics.latency_sum += seconds
        return response
