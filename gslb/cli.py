"""`gslb ...`: the composition root, the only place that wires packages together."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from gslb.commands import register_all
from gslb.commands.common import EXIT_OK, UserFacingError, add_store_options

log = logging.getLogger("gslb")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gslb",
        description="DNS-centric global server load balancer: policy store, GSLB DNS, health, anycast.",
        epilog="Run 'gslb COMMAND --help' for the options of each command.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_all(commands, add_store_options)
    return parser


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose >= 2 else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


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
