"""Command-line options of DNS forwarding (`gslb dns` / `gslb serve`), parsed into ForwardSettings."""

from __future__ import annotations

import argparse
from ipaddress import ip_network

from gslb.commands.common import UserFacingError
from gslb.dns.forward.cache import CacheSettings
from gslb.dns.forward.forwarder import ForwardSettings, parse_upstream
from gslb.policy.base import normalize_fqdn

DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128")


def add_forward_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "forwarding", "names outside the hosted zones, for allowed clients (off unless --forward is given)"
    )
    group.add_argument(
        "--forward",
        action="append",
        default=[],
        metavar="ADDRESS[:PORT]",
        help="upstream resolver; repeatable (the fastest healthy one is preferred)",
    )
    group.add_argument(
        "--stub",
        action="append",
        default=[],
        metavar="SUFFIX=ADDRESS[:PORT][,...]",
        help="upstreams for names under SUFFIX, e.g. cluster.local=10.96.0.10; repeatable",
    )
    group.add_argument(
        "--forward-allow",
        action="append",
        default=[],
        metavar="CIDR",
        help="client networks that may use forwarding; others get REFUSED "
        f"(default {', '.join(DEFAULT_ALLOW)})",
    )
    group.add_argument(
        "--forward-timeout", type=float, default=1.0, metavar="SECONDS", help="per upstream try"
    )
    group.add_argument(
        "--forward-rate-limit",
        type=float,
        default=0.0,
        metavar="QPS",
        help="forwarded queries per second per client /24 (IPv6 /56); excess is dropped (default 0: off)",
    )
    group.add_argument(
        "--cache-size", type=int, default=100_000, metavar="N", help="forwarding cache entries"
    )
    group.add_argument("--cache-min-ttl", type=int, default=0, metavar="SECONDS")
    group.add_argument("--cache-max-ttl", type=int, default=86_400, metavar="SECONDS")
    group.add_argument("--cache-max-negative-ttl", type=int, default=3_600, metavar="SECONDS")
    group.add_argument(
        "--serve-stale",
        type=int,
        default=86_400,
        metavar="SECONDS",
        help="how long past expiry a cached answer may be served while every upstream fails (0: never)",
    )


def forward_settings(args: argparse.Namespace) -> ForwardSettings | None:
    """ForwardSettings from the options, or None when forwarding is off; UserFacingError on bad input."""
    if not args.forward and not args.stub:
        if args.forward_allow:
            raise UserFacingError("--forward-allow needs --forward or --stub", 2)
        return None
    problems: list[str] = []
    for text in args.forward:
        _check_upstream(text, "--forward", problems)
    stubs: list[tuple[str, tuple[str, ...]]] = []
    for text in args.stub:
        suffix, sep, targets = text.partition("=")
        if not sep or not targets:
            problems.append(f"--stub {text!r}: write SUFFIX=ADDRESS[:PORT][,ADDRESS...]")
            continue
        try:
            suffix = normalize_fqdn(suffix)
        except ValueError as exc:
            problems.append(f"--stub {text!r}: {exc}")
            continue
        group = tuple(target.strip() for target in targets.split(","))
        for target in group:
            _check_upstream(target, "--stub", problems)
        stubs.append((suffix, group))
    allow = tuple(args.forward_allow) or DEFAULT_ALLOW
    for text in allow:
        try:
            ip_network(text, strict=False)
        except ValueError:
            problems.append(f"--forward-allow {text!r} is not a network like 10.0.0.0/8 or fd00::/8")
    numbers = {
        "--forward-timeout": (args.forward_timeout, 0.001, 60),
        "--forward-rate-limit": (args.forward_rate_limit, 0, 1e9),
        "--cache-size": (args.cache_size, 1, 100_000_000),
        "--cache-min-ttl": (args.cache_min_ttl, 0, 86_400),
        "--cache-max-ttl": (args.cache_max_ttl, 1, 604_800),
        "--cache-max-negative-ttl": (args.cache_max_negative_ttl, 0, 86_400),
        "--serve-stale": (args.serve_stale, 0, 604_800),
    }
    for option, (value, low, high) in numbers.items():
        if not low <= value <= high:
            problems.append(f"{option} {value} is out of range ({low} to {high})")
    if args.cache_min_ttl > args.cache_max_ttl:
        problems.append("--cache-min-ttl is larger than --cache-max-ttl")
    if problems:
        raise UserFacingError("bad forwarding options:\n" + "\n".join(f"  - {p}" for p in problems), 2)
    return ForwardSettings(
        upstreams=tuple(args.forward),
        stubs=tuple(stubs),
        allow=allow,
        timeout=args.forward_timeout,
        rate_limit=args.forward_rate_limit,
        cache=CacheSettings(
            max_entries=args.cache_size,
            min_ttl=args.cache_min_ttl,
            max_ttl=args.cache_max_ttl,
            max_negative_ttl=args.cache_max_negative_ttl,
            stale_ttl=args.serve_stale,
        ),
    )


def _check_upstream(text: str, option: str, problems: list[str]) -> None:
    try:
        parse_upstream(text)
    except ValueError as exc:
        problems.append(f"{option}: {exc}")
