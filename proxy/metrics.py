"""Proxy metrics: plain counters on the data path, turned into Prometheus families on scrape."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


_CLASSES = ("none", "1xx", "2xx", "3xx", "4xx", "5xx")


class ProxyMetrics:
    """Counts every request by (route, status class, upstream member) and its latency by route."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = {}
        self.latency: dict[str, list[float]] = {}  # route -> bucket counts + [sum] at the end
        self.local_responses: dict[int, int] = {}
        self.connections_opened = 0
        self.connections_closed = 0
        self.retries = 0
        self.active_connections: Callable[[], int] = lambda: 0
        self.ejections: Callable[[], int] = lambda: 0
        self.ejected: Callable[[], int] = lambda: 0
        self.access_log: Any = None  # proxy.access_log.AccessLog when enabled

    def request_done(self, exchange: Any, now: float) -> None:
        route = exchange.route.key
        member = exchange.member
        status = exchange.status
        key = (route, _CLASSES[status // 100] if 0 < status < 600 else "none", member.key if member else "")
        self.requests[key] = self.requests.get(key, 0) + 1
        counts = self.latency.get(route)
        if counts is None:
            counts = self.latency[route] = [0.0] * (len(BUCKETS) + 2)
        elapsed = now - exchange.started
        counts[bisect.bisect_left(BUCKETS, elapsed)] += 1
        counts[-1] += elapsed
        if self.access_log is not None:
            client = exchange.client
            self.access_log.record(
                (
                    time.time(),
                    client.peer,
                    exchange.method,
                    exchange.host,
                    exchange.url,
                    status,
                    route,
                    f"{member.address}:{member.port}" if member is not None else "",
                    exchange.attempts,
                    elapsed,
                )
            )

    def local_done(self, status: int, client: str, method: bytes, host: bytes, url: bytes) -> None:
        """A response the proxy wrote itself (refusals, 404, redirects, 429)."""
        self.local_responses[status] = self.local_responses.get(status, 0) + 1
        if self.access_log is not None:
            self.access_log.record((time.time(), client, method, host, url, status, "", "", 0, 0.0))

    def collect(self) -> Iterator[Any]:
        requests = CounterMetricFamily(
            "gslb_proxy_requests",
            "requests answered, by route, status class and upstream member",
            labels=["route", "status", "upstream"],
        )
        for (route, status, upstream), count in sorted(self.requests.items()):
            requests.add_metric([route, status, upstream], count)
        yield requests
        local = CounterMetricFamily(
            "gslb_proxy_local_responses",
            "responses the proxy wrote itself (errors, redirects)",
            labels=["code"],
        )
        for code, count in sorted(self.local_responses.items()):
            local.add_metric([str(code)], count)
        yield local
        latency = HistogramMetricFamily(
            "gslb_proxy_request_seconds",
            "time from request head to the end of the response",
            labels=["route"],
        )
        for route, counts in sorted(self.latency.items()):
            cumulative = 0.0
            buckets = []
            bounds = [str(bound) for bound in BUCKETS] + ["+Inf"]
            for bound_text, in_bucket in zip(bounds, counts[:-1], strict=True):
                cumulative += in_bucket
                buckets.append((bound_text, cumulative))
            latency.add_metric([route], buckets, counts[-1])
        yield latency
        yield CounterMetricFamily(
            "gslb_proxy_retries", "requests retried on another member", value=self.retries
        )
        yield CounterMetricFamily(
            "gslb_proxy_connections", "client connections accepted", value=self.connections_opened
        )
        yield GaugeMetricFamily(
            "gslb_proxy_active_connections", "client connections open now", value=self.active_connections()
        )
        yield CounterMetricFamily(
            "gslb_proxy_ejections", "upstream members ejected by passive health", value=self.ejections()
        )
        yield GaugeMetricFamily("gslb_proxy_ejected_members", "members ejected now", value=self.ejected())
