"""Prometheus metrics of one checker: states (site and quorum), probe latency, counts, valve trips."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from health.checker import Checker

_STATES = ("up", "down", "disabled", "unknown")
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HealthMetrics(Collector):
    """Register it on a CollectorRegistry; it reads the checker's current state at each scrape."""

    def __init__(self, checker: Checker) -> None:
        self._checker = checker
        # Unregistered: exported through collect(), so several checkers can live in one process.
        self._latency = Histogram(
            "gslb_health_probe_seconds",
            "time a probe took, by check type",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        checker.latency_observer = self._observe

    def _observe(self, kind: str, seconds: float) -> None:
        self._latency.labels(kind).observe(seconds)

    def collect(self) -> Iterator[Metric]:
        checker = self._checker
        labels = ["tenant", "check", "target", "state"]
        quorum = GaugeMetricFamily(
            "gslb_health_state", "quorum state every node uses (1 for the current state)", labels=labels
        )
        site = GaugeMetricFamily(
            "gslb_health_site_state",
            "this site's own rise/fall state (1 for the current state)",
            labels=labels,
        )
        last = GaugeMetricFamily(
            "gslb_health_last_probe_seconds", "latency of the latest probe", labels=labels[:3]
        )
        stored = checker.stored_states()
        for key, target in checker.targets.items():
            base = [target.tenant, target.check_name, target.host]
            body: Any = stored.get(key)
            state = str(body.get("state")) if body else "unknown"
            for name in _STATES:
                quorum.add_metric([*base, name], 1.0 if name == state else 0.0)
            mine = checker.states.get(key)
            measured = mine.measured if mine is not None else "unknown"
            for name in ("up", "down", "unknown"):
                site.add_metric([*base, name], 1.0 if name == measured else 0.0)
            outcome = checker.last.get(key)
            if outcome is not None:
                last.add_metric(base, outcome.seconds)
        yield quorum
        yield site
        yield last
        yield from self._latency.collect()
        probes = CounterMetricFamily(
            "gslb_health_probes", "probes run, by type and result", labels=["type", "result"]
        )
        for (kind, ok), count in sorted(checker.probes_total.items()):
            probes.add_metric([kind, "ok" if ok else "fail"], count)
        yield probes
        trips = CounterMetricFamily("gslb_health_valve_trips", "safety valve trips (mass failures suspected)")
        trips.add_metric([], checker.writer.valve_trips)
        yield trips
        in_flight = GaugeMetricFamily("gslb_health_probes_in_flight", "probes running now")
        in_flight.add_metric([], checker.scheduler.in_flight)
        yield in_flight
