"""`gslb serve` and `gslb dns`: run a node (the DNS server joins here; more components as they land)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from gslb.commands.api import DEFAULT_API, add_api_options, api_settings, bootstrap_text
from gslb.commands.common import store_settings
from gslb.commands.forward_options import add_forward_options, forward_settings
from gslb.commands.health import add_checker_options, checker_settings
from gslb.commands.node import NodeSettings, ensure_demo_geoip, parse_host_port, run_workers
from gslb.demo import DEMO_TENANT

DEFAULT_DNS = "127.0.0.1:5353"
ENV_TSIG_KEYS = "GSLB_TSIG_KEYS"


def register(commands: argparse._SubParsersAction, add_store_options: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run a whole node (store, live snapshot, DNS, status endpoint) in one process",
        description="Runs every component of a node. With no --redis-url it uses the embedded store, "
        "which keeps every committed change in --data-dir.",
    )
    add_store_options(serve)
    _add_dns_options(serve, default_listen=[DEFAULT_DNS])
    serve.add_argument(
        "--http",
        default="127.0.0.1:8080",
        metavar="HOST:PORT",
        help="status endpoint: /healthz, /readyz, /v1/status, /metrics (default 127.0.0.1:8080)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help=f"load the demo tenant '{DEMO_TENANT}' and its zones when absent, and use the demo "
        "geography unless --geoip is given",
    )
    serve.add_argument(
        "--api",
        default=DEFAULT_API,
        metavar="HOST:PORT|off",
        help=f"the policy REST API (default {DEFAULT_API}; 'off' to run none)",
    )
    add_api_options(serve)
    serve.add_argument(
        "--no-health",
        action="store_true",
        help="do not run a health checker site in this node (run 'gslb health' elsewhere)",
    )
    add_checker_options(serve)
    serve.set_defaults(handler=_serve)

    dns = commands.add_parser(
        "dns",
        help="run the authoritative GSLB DNS server",
        description="Answers every zone in the store from a compiled snapshot that follows the store's "
        "change feed. UDP and TCP on every --listen address.",
    )
    add_store_options(dns)
    _add_dns_options(dns, default_listen=[DEFAULT_DNS])
    dns.add_argument("--http", default=None, metavar="HOST:PORT", help="status and metrics endpoint (off)")
    dns.set_defaults(handler=_dns, demo=False, api="off", no_health=True)


def _add_dns_options(parser: argparse.ArgumentParser, *, default_listen: list[str]) -> None:
    parser.add_argument(
        "--listen",
        action="append",
        default=None,
        metavar="ADDRESS:PORT",
        help=f"DNS address, UDP and TCP; repeatable; IPv6 as [::1]:53 (default {', '.join(default_listen)})",
    )
    parser.add_argument("--geoip", type=Path, help="MaxMind-format database for client geography")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the ports with SO_REUSEPORT (needs --redis-url)",
    )
    parser.add_argument(
        "--tsig-keys",
        type=Path,
        default=os.environ.get(ENV_TSIG_KEYS) or None,
        metavar="FILE",
        help="TSIG keys for zone transfers and NOTIFY: YAML {name: {algorithm, secret}} or BIND "
        f"key clauses (tsig-keygen output); env {ENV_TSIG_KEYS}. Without it no zone can be transferred",
    )
    parser.add_argument(
        "--query-log",
        default=None,
        metavar="FILE",
        help="append one JSON line per answered query to FILE ('-': standard output); off by default",
    )
    add_forward_options(parser)
    parser.set_defaults(default_listen=default_listen)


def _settings(args: argparse.Namespace) -> NodeSettings:
    store = store_settings(args)
    geoip = args.geoip
    if geoip is None and args.demo:
        geoip = ensure_demo_geoip(store.data_dir)
    return NodeSettings(
        store=store,
        http=parse_host_port(args.http) if args.http else None,
        dns=tuple(args.listen or args.default_listen),
        geoip=geoip,
        demo=args.demo,
        workers=args.workers,
        tsig_keys=Path(args.tsig_keys) if args.tsig_keys else None,
        query_log=args.query_log,
        forward=forward_settings(args),
        api=None if args.api == "off" else parse_host_port(args.api),
        api_settings=api_settings(args) if args.api != "off" else None,
        bootstrap_token=bootstrap_text(args) if args.api != "off" else None,
        health=None if args.no_health else checker_settings(args),
    )


def _serve(args: argparse.Namespace) -> int:
    return run_workers(_settings(args))


def _dns(args: argparse.Namespace) -> int:
    return run_workers(_settings(args))
