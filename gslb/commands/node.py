"""Running a node: store -> snapshot feed -> DNS listeners and status endpoint, with ordered shutdown.

`gslb serve` and `gslb dns` both run this; shutdown stops answering first (close listeners), then
the status endpoint, then the feed, then the store — and gives up after SHUTDOWN_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web

from gslb.commands.common import UserFacingError, open_geo, opened_store
from gslb.commands.policy_io import apply_yaml_text
from gslb.commands.processes import run_event_loop, run_forked, wait_for_stop
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
    tsig_keys: Path | None = None  # TSIG key file for zone transfers and NOTIFY
    query_log: str | None = None  # file for one JSON line per query ("-": stdout); None: off
    forward: Any = None  # gslb.dns.forward.forwarder.ForwardSettings, or None: REFUSED outside our zones
    api: tuple[str, int] | None = None  # REST API listener (worker 0 only); None: off
    api_settings: Any = None  # gslb.api.context.ApiSettings
    bootstrap_token: str | None = None
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
    return run_forked(settings.workers, lambda index: _run_loop(settings, worker=index))


def _run_loop(settings: NodeSettings, *, worker: int) -> int:
    return run_event_loop(run_node(settings, worker=worker))


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
                # Its own mirror of the store: the snapshot feed's follower keeps no documents.
                checker = await _start_checker(store, settings.health, collectors, None)
            keys = _tsig_keys(settings) if settings.dns else None  # a bad key file stops us first
            query_log = None
            if settings.query_log is not None and settings.dns:
                query_log = _open_query_log(settings.query_log)
                query_log.start()
                collectors.append(query_log)
            forwarder = None
            if settings.forward is not None and settings.dns:
                from gslb.dns.forward.forwarder import Forwarder

                forwarder = Forwarder(settings.forward)
                collectors.append(forwarder)
            listeners = None
            if settings.dns:
                listeners, transfers = await _start_dns(settings, feed, metrics, keys, query_log, forwarder)
                closers.append(listeners.close)
                notifier = None
                if worker == 0:  # one NOTIFY per change and secondary, not one per worker
                    notifier = _start_notifier(feed, keys)
                    closers.append(notifier.stop)
                collectors.append(_transfer_metrics(transfers, notifier))
            if forwarder is not None:
                closers.append(forwarder.close)
            if query_log is not None:
                closers.append(query_log.close)  # after the listeners: the last answers get logged
            # The API before the status endpoint: once /readyz answers, everything is up.
            if settings.api is not None and worker == 0:
                closers.append(await _start_api(settings, store, feed))
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
            if settings.api is not None and worker == 0:
                parts.append(f"API on http://{settings.api[0]}:{settings.api[1]}/v1/docs")
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


def _tsig_keys(settings: NodeSettings) -> Any:
    from gslb.dns.tsig_keys import TsigKeyError, TsigKeys, load_tsig_keys

    if settings.tsig_keys is None:
        return TsigKeys()
    try:
        keys = load_tsig_keys(settings.tsig_keys)
    except TsigKeyError as exc:
        raise UserFacingError(str(exc), 2) from None
    if settings.tsig_keys.stat().st_mode & 0o077:
        log.warning("TSIG key file %s is readable by other users; chmod 600 it", settings.tsig_keys)
    log.info("loaded %d TSIG key(s) from %s: %s", len(keys), settings.tsig_keys, keys)
    return keys


def _start_notifier(feed: Any, keys: Any) -> Any:
    """Send NOTIFY for zones whose serial changes (and once for every zone now)."""
    from gslb.dns.notify import Notifier
    from gslb.dns.xfr import IndexZonePolicy

    notifier = Notifier(IndexZonePolicy(partial(getattr, feed, "index")), keys)
    feed.add_listener(notifier.snapshot_changed)
    notifier.snapshot_changed(feed.snapshot)
    return notifier


def _transfer_metrics(transfers: Any, notifier: Any) -> Any:
    from gslb.dns.xfr_metrics import TransferMetrics

    return TransferMetrics(transfers, notifier)


def _open_query_log(path: str) -> Any:
    from gslb.dns.query_log import QueryLog

    query_log = QueryLog(path)
    try:
        query_log.open()
    except OSError as exc:
        raise UserFacingError(
            f"cannot open the query log {path}: {exc.strerror}; choose another --query-log"
        ) from None
    return query_log


async def _start_dns(
    settings: NodeSettings,
    feed: Any,
    metrics: Any,
    keys: Any,
    query_log: Any = None,
    forwarder: Any = None,
) -> Any:
    from gslb.dns.listeners import DnsListeners, ListenAddress
    from gslb.dns.metrics import CountingAnswerer
    from gslb.dns.responder import Responder
    from gslb.dns.xfr import IndexZonePolicy, TransferServer

    try:
        addresses = [ListenAddress.parse(text) for text in settings.dns]
    except ValueError as exc:
        raise UserFacingError(str(exc), 2) from None
    geo = open_geo(settings.geoip)
    # partial(getattr) rather than a lambda: called once per query, it is a C call, not a frame.
    responder: Any = Responder(
        partial(getattr, feed, "snapshot"),
        geo=geo,
        outside=forwarder,
    )
    if query_log is not None:
        from gslb.dns.query_log import LoggedResponder

        responder = LoggedResponder(responder, query_log)
    transfers = TransferServer(
        partial(getattr, feed, "snapshot"), IndexZonePolicy(partial(getattr, feed, "index")), keys
    )
    listeners = DnsListeners(
        CountingAnswerer(responder, metrics), addresses, reuse_port=settings.workers > 1, transfers=transfers
    )
    try:
        await listeners.start()
    except OSError as exc:
        hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" if exc.errno == 13 else ""
        raise UserFacingError(
            f"cannot listen for DNS on {', '.join(settings.dns)}: {exc.strerror}{hint}"
        ) from None
    return listeners, transfers


async def _start_api(settings: NodeSettings, store: Any, feed: Any) -> Any:
    """The REST API on its own (loopback by default) port; returns its cleanup coroutine function."""
    from gslb.commands.api import bootstrap, start_api_site

    assert settings.api is not None
    await bootstrap(store, settings.bootstrap_token)
    geo = open_geo(settings.geoip)
    runner = await start_api_site(
        store,
        settings.api,
        settings.api_settings,
        snapshot=lambda: feed.snapshot,
        geo=geo,
        ready=lambda: feed.stats is not None,
    )
    return runner.cleanup


async def _start_checker(store: Any, health: Any, collectors: list[Any], follower: Any) -> Any:
    from health.checker import Checker
    from health.metrics import HealthMetrics

    checker = Checker(store, health, follower=follower)  # one mirror of the store per node, shared
    await checker.start()
    collectors.append(HealthMetrics(checker))
    return checker
