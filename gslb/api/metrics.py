"""Prometheus metrics of the API server, in a registry per app (several apps can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gslb_api_requests",
            "API requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gslb_api_request_seconds",
            "API request latency",
            ["method"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "gslb_api_rate_limited", "requests refused by the per-token rate limit", registry=self.registry
        )
        self.commits = Counter(
            "gslb_api_commits", "policy changes committed through the API", registry=self.registry
        )
