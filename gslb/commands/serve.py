"""`gslb serve`: every component of a node in one process, on the embedded store by default.

Today the node runs the store, the live snapshot feed and the status endpoint; the DNS server,
health checkers, API and anycast speaker join here as they land. Shutdown is ordered and bounded:
stop accepting status requests, then stop the feed, then close the store.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from typing import Any

from aiohttp import web

from gslb.commands.common import EXIT_OK, UserFacingError, opened_store, store_settings
from gslb.commands.policy_io import apply_yaml_text
from gslb.demo import DEMO_POLICY_YAML, DEMO_TENANT

log = logging.getLogger("gslb.serve")

SHUTDOWN_TIMEOUT = 10.0


def register(commands: argparse._SubParsersAction, add_store_options: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run a whole node (store, live snapshot, status endpoint) in one process",
        description="Runs every component of a node in one process. With no --redis-url it uses the "
        "embedded store, which keeps every committed change in --data-dir.",
    )
    add_store_options(serve)
    serve.add_argument(
        "--http",
        default="127.0.0.1:8080",
        metavar="HOST:PORT",
        help="status endpoint: /healthz, /readyz, /v1/status, /metrics (default 127.0.0.1:8080)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help=f"load the demo tenant '{DEMO_TENANT}' and its zones when the store does not have them yet",
    )
    serve.set_defaults(handler=_serve)


def parse_host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UserFacingError(f"{text!r} is not HOST:PORT (for example 127.0.0.1:8080 or [::1]:8080)")
    return host.strip("[]") or "127.0.0.1", int(port)


async def _serve(args: argparse.Namespace) -> int:
    from gslb.feed import SnapshotFeed
    from gslb.store import PolicyStore

    host, port = parse_host_port(args.http)
    settings = store_settings(args)
    log.info("starting node on the %s", settings.describe())
    async with opened_store(settings) as store:
        if args.demo:
            policy_store = PolicyStore(store)
            current = await policy_store.current()
            if f"tenant:{DEMO_TENANT}" not in current.docs:
                revision = await apply_yaml_text(
                    policy_store, DEMO_POLICY_YAML, "demo policy", actor="gslb serve --demo"
                )
                log.info("loaded the demo policy at revision %d", revision)
        feed = SnapshotFeed(store)
        await feed.start()
        runner = web.AppRunner(_status_app(feed, settings.describe()), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await feed.stop()
            raise UserFacingError(
                f"cannot listen on {host}:{port}: {exc.strerror}; choose another --http"
            ) from None
        print(f"gslb serving: status on http://{args.http}/v1/status, {settings.describe()}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("shutting down")
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                await runner.cleanup()
                await feed.stop()
        except TimeoutError:
            log.error("shutdown took longer than %.0f s; exiting anyway", SHUTDOWN_TIMEOUT)
    return EXIT_OK


def _status_app(feed: Any, store_description: str) -> web.Application:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

    # A registry per app, not the global one: several nodes can live in one process (tests).
    registry = CollectorRegistry()
    revision_gauge = Gauge(
        "gslb_snapshot_revision", "store revision of the served snapshot", registry=registry
    )
    age_gauge = Gauge("gslb_snapshot_age_seconds", "seconds since the snapshot was built", registry=registry)
    revision_gauge.set_function(lambda: feed.snapshot.revision)
    age_gauge.set_function(lambda: time.time() - feed.snapshot_time if feed.snapshot_time else 0.0)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        ready = feed.stats is not None
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    async def status(_request: web.Request) -> web.Response:
        stats = feed.stats
        return web.json_response(
            {
                "store": store_description,
                "revision": feed.snapshot.revision,
                "zones": sorted(feed.snapshot.zones),
                "record_sets": stats.record_sets if stats else 0,
                "last_compile_ms": round(stats.seconds * 1000, 3) if stats else None,
                "ignored_documents": list(stats.ignored_documents) if stats else [],
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
