"""The control endpoint every long-running command serves (aiohttp, off the data path):
/healthz (the process answers), /readyz (it has what it needs to serve), /v1/status (what it
serves, as JSON) and /metrics (Prometheus text of the given registry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web


def control_app(
    *, ready: Callable[[], bool], status: Callable[[], dict[str, Any]], registry: Any
) -> web.Application:
    """`registry`: a prometheus_client CollectorRegistry of the app's own (not the global one:
    several servers can live in one process, as in tests)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        is_ready = ready()
        return web.json_response({"ready": is_ready}, status=200 if is_ready else 503)

    async def status_handler(_request: web.Request) -> web.Response:
        return web.json_response(status())

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/v1/status", status_handler),
            web.get("/metrics", metrics),
        ]
    )
    return app
