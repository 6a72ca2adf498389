"""`gslb health`: run a checker site; `status` prints the states, `disable`/`enable` override one target."""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import time
from typing import Any

from gslb.commands.common import EXIT_OK, EXIT_USAGE, UserFacingError, opened_store, store_settings

log = logging.getLogger("gslb.health")


def add_checker_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("health checker")
    group.add_argument(
        "--site",
        default=socket.gethostname(),
        help="name of this checker site; its votes are stored under it (default: the host name)",
    )
    group.add_argument(
        "--max-in-flight", type=int, default=1000, help="probes running at once at most (default 1000)"
    )
    group.add_argument(
        "--jitter",
        type=float,
        default=0.1,
        help="probes come every interval shortened by up to this share of it (default 0.1)",
    )
    group.add_argument(
        "--valve-share",
        type=float,
        default=0.5,
        help="safety valve: more than this share of a record's members failing in one burst is "
        "treated as a checker problem (default 0.5; 1 turns it off)",
    )
    group.add_argument(
        "--evaluate-every",
        type=float,
        default=1.0,
        help="seconds between full quorum evaluations, which notice expired votes (default 1)",
    )


def checker_settings(args: argparse.Namespace) -> Any:
    from health.checker import CheckerSettings

    settings = CheckerSettings(
        site=args.site,
        max_in_flight=args.max_in_flight,
        jitter=args.jitter,
        valve_share=args.valve_share,
        evaluate_every=args.evaluate_every,
    )
    problems = settings.problems()
    if problems:
        raise UserFacingError("; ".join(problems), EXIT_USAGE)
    return settings


def register(commands: argparse._SubParsersAction, add_store_options: Any) -> None:
    health = commands.add_parser(
        "health",
        help="run a health checker site; 'status' shows the states",
        description="Without a subcommand: probe every target the policy's checks name, vote, and keep "
        "the quorum states in the store current. Several sites may run at once (with --redis-url).",
    )
    add_store_options(health)
    add_checker_options(health)
    health.add_argument("--http", default=None, metavar="HOST:PORT", help="metrics endpoint (off)")
    health.set_defaults(handler=_run_checker)
    sub = health.add_subparsers(dest="health_command", metavar="SUBCOMMAND")

    status = sub.add_parser("status", help="print health states, votes and latency as a table")
    add_store_options(status)
    status.add_argument("--tenant", help="only this tenant's targets")
    status.add_argument("--json", action="store_true", help="JSON instead of a table")
    status.set_defaults(handler=_status)

    disable = sub.add_parser("disable", help="take a target out by hand (state 'disabled')")
    add_store_options(disable)
    disable.add_argument("key", metavar="TENANT/CHECK/TARGET", help="as listed by 'gslb health status'")
    disable.add_argument("--reason", default="", help="why (kept with the state)")
    disable.set_defaults(handler=_disable)

    enable = sub.add_parser("enable", help="undo 'disable': the measured state applies again")
    add_store_options(enable)
    enable.add_argument("key", metavar="TENANT/CHECK/TARGET")
    enable.set_defaults(handler=_enable)


async def _run_checker(args: argparse.Namespace) -> int:
    from gslb.commands.node import parse_host_port
    from gslb.commands.processes import wait_for_stop
    from health.checker import Checker
    from health.metrics import HealthMetrics

    settings = checker_settings(args)
    http = parse_host_port(args.http) if args.http else None
    async with opened_store(store_settings(args)) as store:
        checker = Checker(store, settings)
        await checker.start()
        runner = None
        try:
            if http is not None:
                runner = await _metrics_endpoint(HealthMetrics(checker), http)
            print(f"gslb health: site {settings.site!r} probing {len(checker.targets)} targets", flush=True)
            await wait_for_stop()
        finally:
            if runner is not None:
                await runner.cleanup()
            await checker.stop()
    return EXIT_OK


async def _metrics_endpoint(collector: Any, http: tuple[str, int]) -> Any:
    from aiohttp import web
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(collector)

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.add_routes([web.get("/metrics", metrics), web.get("/healthz", healthz)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, *http).start()
    except OSError as exc:
        await runner.cleanup()
        raise UserFacingError(
            f"cannot listen on {http[0]}:{http[1]}: {exc.strerror}; choose another --http"
        ) from None
    return runner


def _age(ts: float | None, now: float) -> str:
    if not ts:
        return "-"
    seconds = max(0.0, now - ts)
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


async def _status(args: argparse.Namespace) -> int:
    async with opened_store(store_settings(args)) as store:
        docs = await store.list(kind="health", tenant=args.tenant)
        admin = {doc.ref.name: doc.body for doc in await store.list(kind="health_admin", tenant=args.tenant)}
        votes = await store.get_votes_many(doc.ref.name for doc in docs)
    now = time.time()
    rows = []
    for doc in docs:
        key = doc.ref.name
        body = doc.body
        by_site = votes.get(key, {})
        latencies = [float(v["latency_ms"]) for v in by_site.values() if v.get("latency_ms") is not None]
        rows.append(
            {
                "target": key,
                "state": body.get("state"),
                "measured": body.get("measured"),
                "held": bool(body.get("held")),
                "since": body.get("since"),
                "votes": {
                    site: {"state": v.get("state"), "age": now - float(v.get("ts", 0))}
                    for site, v in by_site.items()
                },
                "latency_ms": min(latencies) if latencies else None,
                "reason": admin.get(key, {}).get("reason"),
            }
        )
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return EXIT_OK
    if not rows:
        print("no health states" + (f" for tenant {args.tenant}" if args.tenant else ""))
        return EXIT_OK
    header = ("TARGET", "STATE", "SINCE", "VOTES (site=state/age)", "LATENCY")
    table = [header]
    for row in rows:
        state = str(row["state"]) + (" (held)" if row["held"] else "")
        if row["state"] == "disabled" and row["reason"]:
            state += f" ({row['reason']})"
        votes_text = " ".join(
            f"{site}={vote['state']}/{_age(now - vote['age'], now)}"
            for site, vote in sorted(row["votes"].items())
        )
        latency = "-" if row["latency_ms"] is None else f"{row['latency_ms']:.1f}ms"
        table.append((row["target"], state, _age(row["since"], now), votes_text or "-", latency))
    widths = [max(len(line[column]) for line in table) for column in range(len(header))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    return EXIT_OK


def _parse_key(text: str) -> tuple[str, str, str]:
    from gslb.engine.health_view import member_health_key

    parts = text.split("/", 2)
    if len(parts) != 3 or not all(parts):
        raise UserFacingError(
            f"{text!r} is not TENANT/CHECK/TARGET (for example acme/web/192.0.2.10); "
            "'gslb health status' lists them",
            EXIT_USAGE,
        )
    tenant, check, target = parts
    return tenant, check, member_health_key(tenant, check, target)


async def _disable(args: argparse.Namespace) -> int:
    from gslb.store import DocRef, Put

    tenant, check, key = _parse_key(args.key)
    async with opened_store(store_settings(args)) as store:
        if await store.get(DocRef("check", f"{tenant}/{check}")) is None:
            raise UserFacingError(f"tenant {tenant!r} has no health check {check!r}", EXIT_USAGE)
        current = await store.get(DocRef("health", key))
        measured = current.body.get("measured") if current else None
        now = time.time()
        # The state changes at once, even with no checker running; checkers keep it while disabled.
        await store.commit(
            [
                Put(
                    DocRef("health_admin", key), tenant, {"disabled": True, "reason": args.reason, "at": now}
                ),
                Put(
                    DocRef("health", key),
                    tenant,
                    {"state": "disabled", "measured": measured, "since": now, "by": "gslb health disable"},
                ),
            ],
            actor="gslb health disable",
        )
    print(f"{key} disabled")
    return EXIT_OK


async def _enable(args: argparse.Namespace) -> int:
    from gslb.store import Delete, DocRef, Put

    tenant, _check, key = _parse_key(args.key)
    async with opened_store(store_settings(args)) as store:
        if await store.get(DocRef("health_admin", key)) is None:
            raise UserFacingError(f"{key} is not disabled", EXIT_USAGE)
        current = await store.get(DocRef("health", key))
        measured = current.body.get("measured") if current else None
        ops: list[Any] = [Delete(DocRef("health_admin", key))]
        # Back to what the checkers measured; never measured: no state (unknown health fails open).
        if measured in ("up", "down"):
            ops.append(
                Put(
                    DocRef("health", key),
                    tenant,
                    {
                        "state": measured,
                        "measured": measured,
                        "since": time.time(),
                        "by": "gslb health enable",
                    },
                )
            )
        else:
            ops.append(Delete(DocRef("health", key)))
        await store.commit(ops, actor="gslb health enable")
    print(f"{key} enabled")
    return EXIT_OK
