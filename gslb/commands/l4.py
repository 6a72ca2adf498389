"""`gslb l4 run|decap`: the XDP L4 forwarder's control plane, and an XDP IP-in-IP decapsulator for reals."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import Any

from gslb.commands.common import EXIT_OK, UserFacingError, opened_store, store_settings

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction, add_store_options: Any) -> None:
    l4 = commands.add_parser(
        "l4", help="XDP L4 forwarder (Maglev, connection table, DSR) driven by the store"
    )
    actions = l4.add_subparsers(dest="l4_command", metavar="ACTION", required=True)

    run = actions.add_parser(
        "run",
        help="load the XDP forwarder on an interface and keep it in step with VIPs and health",
        description="Compiles bpf/c/forwarder.c with BCC (needs root and scripts/setup_bcc.sh), attaches it "
        "(native mode, else generic), programs every IPv4 VIP of the store and follows changes. Detaches "
        "on SIGINT/SIGTERM.",
    )
    add_store_options(run)
    run.add_argument("--dev", required=True, help="interface that receives VIP traffic")
    run.add_argument("--mode", choices=("auto", "native", "generic"), default="auto", help="XDP attach mode")
    run.add_argument("--encap-source", default=None, help="outer IPv4 source of tunnels (default: --dev's)")
    run.add_argument(
        "--encap-source6",
        default=None,
        help="outer IPv6 source of tunnels to IPv6 reals (default: --dev's global)",
    )
    run.add_argument("--metrics", default=None, metavar="HOST:PORT", help="Prometheus endpoint (off)")
    run.add_argument("--max-vips", type=int, default=64)
    run.add_argument("--max-reals", type=int, default=1024)
    run.add_argument("--ring-max", type=int, default=65537, help="largest maglev_table_size accepted (prime)")
    run.add_argument("--conn-max", type=int, default=65536, help="connection table (LRU) entries")
    run.set_defaults(handler=_run)

    decap = actions.add_parser(
        "decap",
        help="strip IP-in-IP in XDP on a real whose kernel has no ipip module",
        description="Attaches bpf/c/decap.c to --dev until SIGINT/SIGTERM. Reals with the ipip module can "
        "use the kernel's tunl0 instead.",
    )
    decap.add_argument("--dev", required=True)
    decap.add_argument("--mode", choices=("auto", "native", "generic"), default="auto")
    decap.set_defaults(handler=_decap)


def _check_sizes(args: argparse.Namespace) -> None:
    from bpf.maglev import is_prime

    problems = []
    if not 1 <= args.max_vips <= 4096:
        problems.append("--max-vips must be 1..4096")
    if not 1 <= args.max_reals <= 65536:
        problems.append("--max-reals must be 1..65536")
    if not is_prime(args.ring_max) or args.ring_max > 1_048_573:
        problems.append("--ring-max must be a prime <= 1048573 (e.g. 65537)")
    if args.conn_max < 16:
        problems.append("--conn-max must be at least 16")
    if problems:
        raise UserFacingError("; ".join(problems))


def _check_sources(args: argparse.Namespace) -> None:
    import ipaddress

    for option, value, version in (
        ("--encap-source", args.encap_source, 4),
        ("--encap-source6", args.encap_source6, 6),
    ):
        if value is None:
            continue
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            address = None
        if address is None or address.version != version:
            raise UserFacingError(f"{option} {value!r} is not an IPv{version} address")


def _parse_listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise UserFacingError(f"--metrics {text!r}: use HOST:PORT, e.g. 127.0.0.1:9108")
    return host.strip("[]"), int(port)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def _run(args: argparse.Namespace) -> int:
    from bpf.errors import BpfError
    from bpf.loader import ProgramSizes

    _check_sizes(args)
    _check_sources(args)
    metrics = _parse_listen(args.metrics) if args.metrics else None
    sizes = ProgramSizes(args.max_vips, args.max_reals, args.ring_max, args.conn_max)

    async def main() -> None:
        from bpf.control import CountersCollector, L4Controller, L4Settings

        async with opened_store(store_settings(args)) as store:
            settings = L4Settings(
                device=args.dev,
                mode=args.mode,
                encap_src=args.encap_source,
                encap_src6=args.encap_source6,
                sizes=sizes,
            )
            controller = L4Controller(store, settings)
            await controller.start()
            server = None
            try:
                if metrics is not None:
                    from prometheus_client import CollectorRegistry, start_http_server

                    registry = CollectorRegistry()
                    registry.register(CountersCollector(controller))  # type: ignore[arg-type]
                    server, _ = start_http_server(metrics[1], metrics[0], registry=registry)
                print(
                    f"gslb l4: forwarding on {args.dev} ({controller.attach_mode} mode), "
                    f"revision {controller.synced_revision}",
                    flush=True,
                )
                await _until_signalled()
            finally:
                if server is not None:
                    server.shutdown()
                await controller.stop()
            print(f"gslb l4: detached from {args.dev}", flush=True)

    try:
        asyncio.run(main())
    except BpfError as exc:
        raise UserFacingError(str(exc)) from None
    return EXIT_OK


def _decap(args: argparse.Namespace) -> int:
    from bpf.errors import BpfError
    from bpf.loader import C_DIR, LoadedProgram

    try:
        program = LoadedProgram(source=C_DIR / "decap.c")
    except BpfError as exc:
        raise UserFacingError(str(exc)) from None
    try:
        mode = program.attach(args.dev, args.mode)
        print(f"gslb l4 decap: on {args.dev} ({mode} mode)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_until_signalled())
    except BpfError as exc:
        raise UserFacingError(str(exc)) from None
    finally:
        program.close()
    print(f"gslb l4 decap: detached from {args.dev}", flush=True)
    return EXIT_OK
