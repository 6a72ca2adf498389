"""`gslb proxy`: the L7 HTTP reverse proxy, routed from the policy store."""

from __future__ import annotations

import argparse
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from gslb.commands.common import UserFacingError, opened_store, store_settings
from gslb.commands.node import parse_host_port
from gslb.commands.processes import run_event_loop, run_forked, wait_for_stop
from gslb.settings import StoreSettings

log = logging.getLogger("gslb.proxy")

DEFAULT_LISTEN = "127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class ProxyCommandSettings:
    store: StoreSettings
    listen: tuple[tuple[str, int], ...]
    tls_listen: tuple[tuple[str, int], ...]
    default_certificate: tuple[str, str] | None
    access_log: str | None
    l4: bool
    http: tuple[str, int] | None
    workers: int
    drain: float
    node: str
    proxy: Any  # proxy.settings.ProxySettings


def register(commands: argparse._SubParsersAction, add_store_options: Any) -> None:
    parser = commands.add_parser(
        "proxy",
        help="run the L7 HTTP reverse proxy (routes and upstream pools from the store)",
        description="An HTTP/1.1 reverse proxy whose routes (host, path, method) and upstream pools "
        "come from the policy store and change live, without dropping requests.",
    )
    add_store_options(parser)
    parser.add_argument(
        "--listen",
        action="append",
        default=None,
        metavar="ADDRESS:PORT",
        help=f"plain HTTP address; repeatable (default {DEFAULT_LISTEN})",
    )
    parser.add_argument(
        "--tls-listen",
        action="append",
        default=None,
        metavar="ADDRESS:PORT",
        help="HTTPS address; repeatable. Certificates by SNI from the routes' tls settings",
    )
    parser.add_argument(
        "--tls-cert", default=None, metavar="PEM", help="certificate for names no route covers"
    )
    parser.add_argument("--tls-key", default=None, metavar="PEM", help="its private key")
    parser.add_argument(
        "--upstream-ca",
        default=None,
        metavar="PEM",
        help="CAs for upstream pools with tls: true (system CAs)",
    )
    parser.add_argument(
        "--access-log", default=None, metavar="FILE", help="one JSON line per request ('-': standard output)"
    )
    parser.add_argument(
        "--l4",
        action="store_true",
        help="also relay every TCP VIP of the store (L4 mode, where XDP is unavailable); the VIP "
        "addresses must be configured on this machine",
    )
    parser.add_argument("--http", default=None, metavar="HOST:PORT", help="status and metrics endpoint (off)")
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the ports (SO_REUSEPORT)")
    parser.add_argument("--node", default=socket.gethostname(), help="name in ejection reports (host name)")
    parser.add_argument("--drain", type=float, default=10.0, help="seconds requests may finish at shutdown")
    parser.add_argument("--header-timeout", type=float, default=10.0, help="seconds for a request head (408)")
    parser.add_argument("--keepalive-timeout", type=float, default=75.0, help="idle client connections (s)")
    parser.add_argument("--max-header-bytes", type=int, default=32 * 1024, help="request head limit (431)")
    parser.set_defaults(handler=_run)


def _settings(args: argparse.Namespace) -> ProxyCommandSettings:
    from proxy.settings import ProxySettings

    if args.workers < 1:
        raise UserFacingError("--workers must be at least 1", 2)
    if args.header_timeout <= 0 or args.keepalive_timeout <= 0 or args.max_header_bytes < 1024:
        raise UserFacingError(
            "--header-timeout and --keepalive-timeout must be positive, --max-header-bytes at least 1024", 2
        )
    if args.upstream_ca is not None and not os.path.isfile(args.upstream_ca):
        raise UserFacingError(f"--upstream-ca {args.upstream_ca}: no such file", 2)
    if (args.tls_cert is None) != (args.tls_key is None):
        raise UserFacingError("--tls-cert and --tls-key go together", 2)
    tls_listen = tuple(parse_host_port(text) for text in (args.tls_listen or []))
    return ProxyCommandSettings(
        store=store_settings(args),
        listen=tuple(
            parse_host_port(text) for text in (args.listen or ([] if tls_listen else [DEFAULT_LISTEN]))
        ),
        tls_listen=tls_listen,
        default_certificate=(args.tls_cert, args.tls_key) if args.tls_cert else None,
        access_log=args.access_log,
        l4=args.l4,
        http=parse_host_port(args.http) if args.http else None,
        workers=args.workers,
        drain=args.drain,
        node=args.node,
        proxy=ProxySettings(
            header_timeout=args.header_timeout,
            keepalive_timeout=args.keepalive_timeout,
            max_header_bytes=args.max_header_bytes,
            node=args.node,
            upstream_ca=args.upstream_ca,
        ),
    )


def _run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.workers == 1:
        return _run_loop(settings, 0)
    if settings.store.redis_url is None:
        raise UserFacingError(
            "--workers above 1 needs --redis-url: the embedded store lives inside one process", 2
        )
    return run_forked(settings.workers, lambda index: _run_loop(settings, index))


def _run_loop(settings: ProxyCommandSettings, worker: int) -> int:
    return run_event_loop(run_proxy(settings, worker=worker))


async def run_proxy(settings: ProxyCommandSettings, *, worker: int = 0) -> int:
    from aiohttp import web

    from proxy.access_log import AccessLog
    from proxy.control import control_app
    from proxy.errors import ConfigError
    from proxy.server import Listener, ProxyServer
    from proxy.source import OutlierReporter, RouteSource
    from proxy.tls import CertificateStore

    async with opened_store(settings.store) as store:
        reporter = OutlierReporter(store, settings.node)
        listeners = [Listener(host, port) for host, port in settings.listen]
        holder: list[ProxyServer] = []
        if settings.tls_listen:
            try:
                certificates = CertificateStore(lambda: holder[0].table, settings.default_certificate)
            except ConfigError as exc:
                raise UserFacingError(str(exc)) from None
            context = certificates.listening_context()
            listeners += [Listener(host, port, context) for host, port in settings.tls_listen]
        access_log = None
        if settings.access_log is not None:
            access_log = AccessLog(settings.access_log)
            try:
                access_log.open()
            except OSError as exc:
                raise UserFacingError(
                    f"cannot open the access log {settings.access_log}: {exc.strerror}; "
                    "choose another --access-log"
                ) from None
        server = ProxyServer(
            settings.proxy,
            listeners,
            reuse_port=settings.workers > 1,
            reporter=reporter,
            access_log=access_log,
        )
        holder.append(server)
        l4 = None
        if settings.l4:
            from proxy.l4 import L4Proxy

            l4 = L4Proxy(reuse_port=settings.workers > 1)
        source = RouteSource(store, server.set_table, on_vips=l4.update if l4 is not None else None)
        await source.start()
        reporter.start()
        runner = None
        try:
            try:
                await server.start()
            except OSError as exc:
                addresses = ", ".join(f"{h}:{p}" for h, p in (*settings.listen, *settings.tls_listen))
                raise UserFacingError(f"cannot listen on {addresses}: {exc.strerror}") from None
            if settings.http is not None and worker == 0:
                runner = web.AppRunner(
                    control_app(server, source, settings.store.describe()), access_log=None
                )
                await runner.setup()
                try:
                    await web.TCPSite(runner, *settings.http).start()
                except OSError as exc:
                    raise UserFacingError(
                        f"cannot listen on {settings.http[0]}:{settings.http[1]}: {exc.strerror}; "
                        "choose another --http"
                    ) from None
            bound = ", ".join(f"{host}:{port}" for host, port in server.bound)
            print(f"gslb proxy serving on {bound}, {settings.store.describe()}", flush=True)
            await wait_for_stop()
            log.info("proxy worker %d draining", worker)
        finally:
            await server.close(settings.drain)
            if l4 is not None:
                await l4.close()
            if access_log is not None:
                await access_log.close()
            if runner is not None:
                await runner.cleanup()
            await reporter.stop()
            await source.stop()
    return 0
