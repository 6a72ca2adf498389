"""`gslb anycast`: the program ExaBGP runs (process API) to announce anycast prefixes while healthy."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from gslb.commands.common import EXIT_USAGE, UserFacingError, opened_store, store_settings
from gslb.commands.node import parse_host_port

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction, add_store_options: Any) -> None:
    parser = commands.add_parser(
        "anycast",
        help="announce anycast prefixes through ExaBGP while healthy (run by ExaBGP's process API)",
        description="Speaks ExaBGP's process API on stdin/stdout: announces every anycast spec of the "
        "store whose service is healthy here (the local DNS server answers --check-name; a VIP has "
        "healthy reals), with the spec's MED, communities and AS-path prepend per state, and withdraws "
        "the others. Configure it in ExaBGP as: process gslb { run gslb anycast ...; encoder json; }",
    )
    add_store_options(parser)
    parser.add_argument(
        "--local-as", type=int, required=True, help="this node's AS number (as in ExaBGP's local-as)"
    )
    check = parser.add_argument_group("DNS self-check (drives service 'dns' announcements)")
    check.add_argument(
        "--check-dns",
        default="127.0.0.1:5353",
        metavar="ADDRESS:PORT",
        help="the local DNS server to query (default 127.0.0.1:5353)",
    )
    check.add_argument(
        "--check-name", help="name the local DNS server must answer; without it DNS is never announced"
    )
    check.add_argument("--check-type", default="A", help="query type (default A)")
    check.add_argument("--check-expect", help="an address that must be among the answers")
    check.add_argument(
        "--interval", type=float, default=0.25, help="seconds between self-checks (default 0.25)"
    )
    check.add_argument("--timeout", type=float, default=None, help="query timeout (default 0.8 x interval)")
    check.add_argument("--rise", type=int, default=2, help="successes to become up (default 2)")
    check.add_argument("--fall", type=int, default=2, help="failures to become down (default 2)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TENANT/NAME",
        help="announce only these anycast specs (repeatable; default all in the store)",
    )
    parser.add_argument("--drain-file", type=Path, help="while this file exists the node drains")
    parser.add_argument(
        "--vip-interface",
        metavar="IFACE",
        help="add each announced service VIP to this interface (lo, a dummy) and remove it on withdrawal",
    )
    parser.add_argument(
        "--http", metavar="HOST:PORT", help="control endpoint: GET /v1/status, PUT/DELETE /v1/drain (off)"
    )
    parser.set_defaults(handler=_anycast)


def _settings(args: argparse.Namespace) -> Any:
    from anycast.selfcheck import DnsCheck
    from anycast.service import AnycastSettings

    problems = []
    if not 1 <= args.local_as <= 0xFFFFFFFF:
        problems.append(f"--local-as {args.local_as} is not an AS number (1-4294967295)")
    if not 0.05 <= args.interval <= 60:
        problems.append(f"--interval {args.interval} must be between 0.05 and 60 seconds")
    timeout = args.timeout if args.timeout is not None else args.interval * 0.8
    if not 0 < timeout <= args.interval:
        problems.append(f"--timeout {timeout} must be positive and at most --interval")
    if args.rise < 1 or args.fall < 1:
        problems.append("--rise and --fall must be at least 1")
    expect = None
    if args.check_expect:
        try:
            expect = ip_address(args.check_expect)
        except ValueError:
            problems.append(f"--check-expect {args.check_expect!r} is not an IP address")
    for name in args.only:
        if name.count("/") != 1:
            problems.append(f"--only {name!r}: write TENANT/NAME")
    try:
        host, port = parse_host_port(args.check_dns)
    except (ValueError, UserFacingError) as exc:
        problems.append(f"--check-dns: {exc}")
        host, port = "", 0
    if problems:
        raise UserFacingError("\n".join(problems), EXIT_USAGE)
    dns_check = (
        DnsCheck(host, port, args.check_name, args.check_type.upper(), timeout, expect)
        if args.check_name
        else None
    )
    return AnycastSettings(
        local_as=args.local_as,
        dns_check=dns_check,
        interval=args.interval,
        rise=args.rise,
        fall=args.fall,
        only=frozenset(args.only),
        drain_file=args.drain_file,
        vip_interface=args.vip_interface,
    )


async def _anycast(args: argparse.Namespace) -> int:
    from aiohttp import web

    from anycast.channel import ExaBGPChannel
    from anycast.control import control_app
    from anycast.service import AnycastService

    settings = _settings(args)
    http = parse_host_port(args.http) if args.http else None
    async with opened_store(store_settings(args)) as store:
        channel = await ExaBGPChannel.from_stdio()
        service = AnycastService(store, channel, settings)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, service.stop_requested.set)
        runner = None
        if http is not None:
            runner = web.AppRunner(control_app(service.drain, service.status, service.wake))
            await runner.setup()
            try:
                await web.TCPSite(runner, http[0], http[1]).start()
            except OSError as exc:
                # Not fatal: exiting would only make ExaBGP respawn us into the same error, and the
                # announcements matter more than the control endpoint (the drain file still works).
                log.error("control endpoint %s:%d unavailable: %s", http[0], http[1], exc)
        try:
            return await service.run()
        finally:
            if runner is not None:
                await runner.cleanup()
            with contextlib.suppress(Exception):
                await channel.close()
