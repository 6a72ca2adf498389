"""The proxy's control endpoint (aiohttp, off the data path): health, readiness, status, metrics."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from proxy.server import ProxyServer


def control_app(server: ProxyServer, source: Any, store_description: str) -> web.Application:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(server.metrics)  # type: ignore[arg-type]

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        ready = source is None or source.table is not None
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    async def status(_request: web.Request) -> web.Response:
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
        return web.json_response(
            {
                "store": store_description,
                "revision": server.table.revision,
                "routes": sorted(server.table.routes),
                "pools": pools,
                "listening": [f"{host}:{port}" for host, port in server.bound],
                "connections": len(server.ctx.connections) if server.ctx is not None else 0,
                "ignored_documents": dict(source.ignored) if source is not None else {},
                "time": time.time(),
            }
        )

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/v1/status", status),
            web.get("/metrics", metrics),
        ]
    )
    return app
