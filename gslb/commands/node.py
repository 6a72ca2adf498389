"""Running a node: store -> snapshot feed -> DNS listeners and status endpoint, with ordered shutdown.

`gslb serve` and `gslb dns` both run this; shutdown stops answering first (close listeners), then
the status endpoint, then the feed, then the store — and gives up after SHUTDOWN_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from gslb.commands.common import UserFacingError, opened_store
from gslb.commands.policy_io import apply_yaml_text
from gslb.commands.status_http import status_app
from gslb.demo import DEMO_POLICY_YAML, DEMO_TENANT
from gslb.settings import StoreSettings

log = logging.getLogger("gslb.node")

SHUTDOWN_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class NodeSettings:
    store: StoreSettings
    http: tuple[str, int] | None
    dns: tuple[str, ...]  # ADDRESS:PORT texts; empty = no DNS listeners
    geoip: Path | None
    demo: bool
    workers: int = 1
    health: Any = None  # health.checker.CheckerSettings: run a checker site in worker 0; None: off


def parse_host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UserFacingError(f"{text!r} is not HOST:PORT (for example 127.0.0.1:8080 or [::1]:8080)", 2)
    return host.strip("[]") or "127.0.0.1", int(port)


def ensure_demo_geoip(data_dir: Path) -> Path:
    """The demo geography as an .mmdb in the data directory (built once)."""
    from geodata.build import build_mmdb_from_csv, demo_csv_path

    path = data_dir / "demo-geo.mmdb"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        build_mmdb_from_csv(demo_csv_path(), path)
    return path


def run_workers(settings: NodeSettings) -> int:
    """Run `settings.workers` node processes sharing the DNS ports (SO_REUSEPORT); returns an exit code."""
    if settings.workers <= 1:
        return _run_loop(settings, worker=0)
    if settings.store.redis_url is None:
        raise UserFacingError(
            "--workers above 1 needs --redis-url: the embedded store lives inside one process", 2
        )
    children: list[int] = []
    for index in range(settings.workers):
        pid = os.fork()
        if pid == 0:  # child: one full node, its own event loop and store connection
            code = 1
            try:
                code = _run_loop(settings, worker=index)
            finally:
                os._exit(code)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    worst = 0
    for child in children:
        _pid, status = os.waitpid(child, 0)
        worst = max(worst, os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)
    return worst


def _run_loop(settings: NodeSettings, *, worker: int) -> int:
    coroutine = run_node(settings, worker=worker)
    try:
        import uvloop

        return int(uvloop.run(coroutine))
    except ImportError:  # uvloop is optional
        return int(asyncio.run(coroutine))
    except UserFacingError as exc:
        print(f"gslb: {exc}", file=sys.stderr)
        return exc.exit_code


async def run_node(settings: NodeSettings, *, worker: int = 0) -> int:
    from gslb.dns.metrics import QueryMetrics
    from gslb.feed import SnapshotFeed
    from gslb.store import PolicyStore

    log.info("worker %d starting on the %s", worker, settings.store.describe())
    async with opened_store(settings.store) as store:
        if settings.demo and worker == 0:
            policy_store = PolicyStore(store)
            current = await policy_store.current()
            if f"tenant:{DEMO_TENANT}" not in current.docs:
                revision = await apply_yaml_text(
                    policy_store, DEMO_POLICY_YAML, "demo policy", actor="gslb serve --demo"
                )
                log.info("loaded the demo policy at revision %d", revision)
        feed = SnapshotFeed(store)
        await feed.start()
        closers: list[Any] = []
        checker = None
        try:
            metrics = QueryMetrics()
            collectors: list[Any] = [metrics]
            if settings.health is not None and worker == 0:
                checker = await _start_checker(store, settings.health, collectors, feed.follower)
            listeners = await _start_dns(settings, feed, metrics) if settings.dns else None
            if listeners is not None:
                closers.append(listeners.close)
            if checker is not None:
                closers.append(checker.stop)
            if settings.http is not None and worker == 0:
                runner = web.AppRunner(
                    status_app(feed, settings.store.describe(), tuple(collectors)), access_log=None
                )
                await runner.setup()
                try:
                    await web.TCPSite(runner, *settings.http).start()
                except OSError as exc:
                    await runner.cleanup()
                    raise UserFacingError(
                        f"cannot listen on {settings.http[0]}:{settings.http[1]}: {exc.strerror}; "
                        "choose another --http"
                    ) from None
                closers.append(runner.cleanup)
            parts = []
            if listeners is not None:
                parts.append("DNS on " + ", ".join(f"{host}:{port}" for host, port in listeners.bound))
            if settings.http is not None and worker == 0:
                parts.append(f"status on http://{settings.http[0]}:{settings.http[1]}/v1/status")
            print(
                f"gslb serving ({'; '.join(parts) or 'store only'}), {settings.store.describe()}", flush=True
            )
            await wait_for_stop()
            log.info("worker %d shutting down", worker)
        finally:
            try:
                async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                    for close in closers:  # listeners first: stop answering before anything else
                        await close()
                    if checker is not None and checker.stop not in closers:
                        await checker.stop()  # started, but an error came before it joined closers
                    await feed.stop()
            except TimeoutError:
                log.error("shutdown took longer than %.0f s; exiting anyway", SHUTDOWN_TIMEOUT)
    return 0


async def _start_dns(settings: NodeSettings, feed: Any, metrics: Any) -> Any:
    from geodata.errors import GeoDataError
    from geodata.lookup import GeoDatabase
    from gslb.dns.listeners import DnsListeners, ListenAddress
    from gslb.dns.metrics import CountingAnswerer
    from gslb.dns.responder import Responder

    try:
        addresses = [ListenAddress.parse(text) for text in settings.dns]
    except ValueError as exc:
        raise UserFacingError(str(exc), 2) from None
    geo = None
    if settings.geoip is not None:
        try:
            geo = GeoDatabase.open(settings.geoip)
        except GeoDataError as exc:
            raise UserFacingError(str(exc)) from None
    responder = Responder(lambda: feed.snapshot, geo=geo)
    listeners = DnsListeners(CountingAnswerer(responder, metrics), addresses, reuse_port=settings.workers > 1)
    try:
        await listeners.start()
    except OSError as exc:
        hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" if exc.errno == 13 else ""
        raise UserFacingError(
            f"cannot listen for DNS on {', '.join(settings.dns)}: {exc.strerror}{hint}"
        ) from None
    return listeners


async def _start_checker(store: Any, health: Any, collectors: list[Any], follower: Any) -> Any:
    from health.checker import Checker
    from health.metrics import HealthMetrics

    checker = Checker(store, health, follower=follower)  # one mirror of the store per node, shared
    await checker.start()
    collectors.append(HealthMetrics(checker))
    return checker


async def wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
