"""`gslb ...`: the composition root, the only place that wires packages together."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gslb.commands import register_all
from gslb.commands.common import EXIT_OK, UserFacingError
from gslb.settings import ENV_PREFIX, ENV_REDIS_URL, StoreSettings, default_data_dir

log = logging.getLogger("gslb")


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("policy store")
    group.add_argument(
        "--redis-url",
        default=os.environ.get(ENV_REDIS_URL),
        help=f"Redis URL (redis://host:6379/0, rediss://, unix://); env {ENV_REDIS_URL}. "
        "Without it the embedded store is used.",
    )
    group.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="directory of the embedded store (default $GSLB_DATA_DIR or ~/.local/share/gslb)",
    )
    group.add_argument(
        "--prefix",
        default=os.environ.get(ENV_PREFIX, "gslb"),
        help=f"key prefix in Redis, to share one Redis between installations; env {ENV_PREFIX}",
    )


def store_settings(args: argparse.Namespace) -> StoreSettings:
    return StoreSettings(
        redis_url=args.redis_url or None,
        data_dir=args.data_dir or default_data_dir(),
        prefix=args.prefix,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gslb",
        description="DNS-centric global server load balancer: policy store, GSLB DNS, health, anycast, L4/L7.",
        epilog="Run 'gslb COMMAND --help' for the options of each command.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_all(commands, _add_store_options)
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose >= 2 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    try:
        result = args.handler(args)
        if asyncio.iscoroutine(result):
            result = _run(result)
        return int(result or EXIT_OK)
    except KeyboardInterrupt:
        return 130
    except UserFacingError as exc:
        print(f"gslb {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code


def _run(coroutine):  # type: ignore[no-untyped-def]
    try:
        import uvloop

        return uvloop.run(coroutine)
    except ImportError:  # uvloop is optional on platforms without it
        return asyncio.run(coroutine)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
