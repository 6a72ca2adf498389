"""The node's HTTP status endpoint: /healthz, /readyz, /v1/status, /metrics."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from gslb.control_http import control_app


def status_app(feed: Any, store_description: str, collectors: tuple[Any, ...] = ()) -> web.Application:
    from prometheus_client import CollectorRegistry, Gauge

    # A registry per app, not the global one: several nodes can live in one process (tests).
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    revision_gauge = Gauge(
        "gslb_snapshot_revision", "store revision of the served snapshot", registry=registry
    )
    age_gauge = Gauge("gslb_snapshot_age_seconds", "seconds since the snapshot was built", registry=registry)
    revision_gauge.set_function(lambda: feed.snapshot.revision)
    age_gauge.set_function(lambda: time.time() - feed.snapshot_time if feed.snapshot_time else 0.0)

    def status() -> dict[str, Any]:
        stats = feed.stats
        return {
            "store": store_description,
            "revision": feed.snapshot.revision,
            "zones": sorted(feed.snapshot.zones),
            "record_sets": stats.record_sets if stats else 0,
            "last_compile_ms": round(stats.seconds * 1000, 3) if stats else None,
            "ignored_documents": list(stats.ignored_documents) if stats else [],
        }

    return control_app(ready=lambda: feed.stats is not None, status=status, registry=registry)
