"""Manual drain: a file whose presence drains the node, or a flag set over the local HTTP endpoint.

Draining first makes every announcement less preferred (the spec's `draining` attributes) so
routers move traffic away without loss, then withdraws it after the spec's `drain_seconds`.
Removing the file and clearing the flag undrains at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web


class DrainControl:
    def __init__(self, file: Path | None = None) -> None:
        self.file = file
        self.api_flag = False
        self._since: float | None = None

    @property
    def requested(self) -> bool:
        return self.api_flag or (self.file is not None and self.file.exists())

    def elapsed(self, now: float) -> float | None:
        """Seconds since the drain began (None when not draining); `now` is a monotonic time."""
        if not self.requested:
            self._since = None
            return None
        if self._since is None:
            self._since = now
        return now - self._since


def control_app(
    drain: DrainControl, status: Callable[[], dict[str, Any]], wake: Callable[[], None]
) -> web.Application:
    """GET /v1/status; PUT /v1/drain to drain, DELETE /v1/drain to undrain (the file still counts)."""

    async def get_status(request: web.Request) -> web.Response:
        return web.json_response(status(), dumps=lambda value: json.dumps(value, indent=2))

    async def put_drain(request: web.Request) -> web.Response:
        drain.api_flag = True
        wake()
        return web.json_response({"drain": True})

    async def delete_drain(request: web.Request) -> web.Response:
        drain.api_flag = False
        wake()
        return web.json_response({"drain": drain.requested, "file": str(drain.file) if drain.file else None})

    app = web.Application()
    app.router.add_get("/v1/status", get_status)
    app.router.add_put("/v1/drain", put_drain)
    app.router.add_delete("/v1/drain", delete_drain)
    return app
