"""The proxy's control endpoint (aiohttp, off the data path): health, readiness, status, metrics."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from gslb import control_http
from proxy.server import ProxyServer


def control_app(server: ProxyServer, source: Any, store_description: str) -> web.Application:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(server.metrics)  # type: ignore[arg-type]

    def status() -> dict[str, Any]:
        loop_now = server.ctx.loop.time() if server.ctx is not None else 0.0
        pools = {}
        for key, pool in server.upstreams.pools.items():
            pools[key] = [
                {
                    "member": f"{member.address}:{member.port}",
                    "healthy": member.config.healthy,
                    "ejected_seconds": round(max(0.0, member.outlier.ejected_until - loop_now), 3),
                    "active": member.active,
                    "idle_connections": len(member.idle),
                }
                for member in pool.members
            ]
        return {
            "store": store_description,
            "revision": server.table.revision,
            "routes": sorted(server.table.routes),
            "pools": pools,
            "listening": [f"{host}:{port}" for host, port in server.bound],
            "connections": len(server.ctx.connections) if server.ctx is not None else 0,
            "ignored_documents": dict(source.ignored) if source is not None else {},
            "time": time.time(),
        }

    return control_http.control_app(
        ready=lambda: source is None or source.table is not None, status=status, registry=registry
    )
