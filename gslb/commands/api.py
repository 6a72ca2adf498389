"""`gslb api` (run the REST API), `gslb token create|list|revoke` and `gslb audit`.

The API also runs inside `gslb serve` (see node.py); these commands share its options.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from gslb.commands.common import (
    EXIT_OK,
    EXIT_REFUSED,
    UserFacingError,
    open_geo,
    opened_store,
    store_settings,
)

ENV_BOOTSTRAP = "GSLB_API_BOOTSTRAP_TOKEN"
DEFAULT_API = "127.0.0.1:8081"


def register(commands: argparse._SubParsersAction, add_store_options: Any) -> None:
    api = commands.add_parser(
        "api",
        help="run the policy REST API (tenants, tokens, roles, audit, OpenAPI at /v1/openapi.json)",
        description="Serves /v1 over HTTP. On first start (no token in the store) a bootstrap admin token "
        f"is created from ${ENV_BOOTSTRAP} or --bootstrap-token-file; or create one with 'gslb token create "
        "--role admin' before starting.",
    )
    add_store_options(api)
    api.add_argument("--listen", default=DEFAULT_API, metavar="HOST:PORT", help=f"(default {DEFAULT_API})")
    api.add_argument("--geoip", type=Path, help="MaxMind-format database, for explain")
    add_api_options(api)
    api.set_defaults(handler=_api)

    token = commands.add_parser("token", help="create, list or revoke API tokens (directly in the store)")
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = token_commands.add_parser("create", help="create a token and print it (shown only once)")
    add_store_options(create)
    create.add_argument("--role", required=True, choices=["admin", "owner", "editor", "viewer"])
    create.add_argument("--tenant", help="tenant the role is bound to (not for admin)")
    create.add_argument("--zone", action="append", default=None, help="limit to this zone; repeatable")
    create.add_argument("--read-only", action="store_true", help="the token may only read")
    create.add_argument("--description", default="", help="what the token is for")
    create.set_defaults(handler=_token_create)
    listing = token_commands.add_parser("list", help="list tokens (never their secrets)")
    add_store_options(listing)
    listing.set_defaults(handler=_token_list)
    revoke = token_commands.add_parser("revoke", help="revoke a token by id; effective at once")
    add_store_options(revoke)
    revoke.add_argument("id", help="token id (the part after gslb_, or 'bootstrap')")
    revoke.set_defaults(handler=_token_revoke)

    audit = commands.add_parser("audit", help="show the audit log of a tenant (newest first)")
    add_store_options(audit)
    audit.add_argument("--tenant", help="tenant (default: entries about no tenant, e.g. admin tokens)")
    audit.add_argument("--limit", type=int, default=50, help="entries to show (default 50)")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.set_defaults(handler=_audit)


def add_api_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("REST API")
    group.add_argument(
        "--bootstrap-token-file",
        type=Path,
        help="file holding the first admin token, used only when the store has no token "
        f"(env {ENV_BOOTSTRAP})",
    )
    group.add_argument(
        "--api-max-body", type=int, default=1024 * 1024, help="request body limit, bytes (1 MiB)"
    )
    group.add_argument("--api-rate", type=float, default=50.0, help="requests per second per token (50)")
    group.add_argument("--api-burst", type=int, default=100, help="burst allowance per token (100)")
    group.add_argument(
        "--api-force-min-records",
        type=int,
        default=10,
        help="the 30%% force guard applies to zones of at least this many record sets (10; 0: every zone)",
    )


def api_settings(args: argparse.Namespace) -> Any:
    from gslb.api.context import ApiSettings

    if args.api_max_body < 1024 or args.api_rate <= 0 or args.api_burst < 1 or args.api_force_min_records < 0:
        raise UserFacingError(
            "--api-max-body must be >= 1024, --api-rate > 0, --api-burst >= 1, --api-force-min-records >= 0",
            2,
        )
    return ApiSettings(
        max_body_bytes=args.api_max_body,
        rate=args.api_rate,
        burst=args.api_burst,
        force_min_zone_size=args.api_force_min_records,
    )


def bootstrap_text(args: argparse.Namespace) -> str | None:
    from gslb.api.tokens import check_bootstrap_text

    text: str | None = None
    if args.bootstrap_token_file is not None:
        try:
            text = args.bootstrap_token_file.read_text().strip()
        except OSError as exc:
            raise UserFacingError(f"cannot read {args.bootstrap_token_file}: {exc.strerror}") from None
    elif os.environ.get(ENV_BOOTSTRAP):
        text = os.environ[ENV_BOOTSTRAP].strip()
    if text is not None and (problem := check_bootstrap_text(text)):
        raise UserFacingError(problem, 2)
    return text


async def bootstrap(store: Any, text: str | None) -> None:
    from gslb.api.tokens import TOKEN_KIND, ensure_bootstrap

    if text is not None:
        if await ensure_bootstrap(store, text, actor="bootstrap"):
            print("gslb api: created the bootstrap admin token (token id 'bootstrap')", file=sys.stderr)
    elif not await store.list_keys(kind=TOKEN_KIND):
        print(
            f"gslb api: the store has no API token; set {ENV_BOOTSTRAP} or run "
            "'gslb token create --role admin'",
            file=sys.stderr,
        )


async def start_api_site(store: Any, listen: tuple[str, int], settings: Any, **app_options: Any) -> Any:
    """Start the API on `listen`; returns the runner (call cleanup() to stop)."""
    from aiohttp import web

    from gslb.api.app import create_app

    runner = web.AppRunner(create_app(store, settings=settings, **app_options), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, *listen).start()
    except OSError as exc:
        await runner.cleanup()
        raise UserFacingError(
            f"cannot listen on {listen[0]}:{listen[1]}: {exc.strerror}; choose another port"
        ) from None
    return runner


async def _api(args: argparse.Namespace) -> int:
    from gslb.commands.node import parse_host_port
    from gslb.commands.processes import wait_for_stop
    from gslb.feed import SnapshotFeed

    listen = parse_host_port(args.listen)
    settings = api_settings(args)
    text = bootstrap_text(args)
    geo = open_geo(args.geoip)
    async with opened_store(store_settings(args)) as store:
        await bootstrap(store, text)
        feed = SnapshotFeed(store)
        await feed.start()
        try:
            runner = await start_api_site(
                store,
                listen,
                settings,
                snapshot=lambda: feed.snapshot,
                geo=geo,
                ready=lambda: feed.stats is not None,
            )
            print(f"gslb api on http://{listen[0]}:{listen[1]}/v1/docs", flush=True)
            try:
                await wait_for_stop()
            finally:
                await runner.cleanup()
        finally:
            await feed.stop()
    return EXIT_OK


async def _token_create(args: argparse.Namespace) -> int:
    from gslb.api.rbac import Role
    from gslb.api.tokens import new_record, put_op
    from gslb.policy.base import normalize_fqdn
    from gslb.store import PolicyStore

    role = Role(args.role)
    if role is Role.ADMIN and args.tenant:
        raise UserFacingError("an admin token has no --tenant", 2)
    if role is not Role.ADMIN and not args.tenant:
        raise UserFacingError(f"a {role.value} token needs --tenant", 2)
    async with opened_store(store_settings(args)) as store:
        policy = await PolicyStore(store).current()
        zones = None
        if args.tenant is not None and f"tenant:{args.tenant}" not in policy.docs:
            raise UserFacingError(f"tenant {args.tenant!r} does not exist", EXIT_REFUSED)
        if args.zone:
            try:
                zones = [normalize_fqdn(zone) for zone in args.zone]
            except ValueError as exc:
                raise UserFacingError(str(exc), 2) from None
            unknown = [zone for zone in zones if zone not in policy.zones()]
            if unknown:
                raise UserFacingError(f"no such zone: {', '.join(unknown)}", EXIT_REFUSED)
        record, text = new_record(
            role=role,
            tenant=args.tenant,
            zones=zones,
            read_only=args.read_only,
            description=args.description,
            created_by="cli",
        )
        from gslb.api.audit import AuditChange, audit_op

        audit = audit_op(
            args.tenant,
            actor="cli",
            action="gslb token create",
            rev_before=policy.revision,
            changes=[AuditChange(f"token:{record.id}", "create", 0)],
        )
        await store.commit([put_op(record), audit], actor="cli")
    print(text)
    print(
        f"token id {record.id}, role {role.value}; this is the only time the token is shown", file=sys.stderr
    )
    return EXIT_OK


async def _token_list(args: argparse.Namespace) -> int:
    from gslb.api.tokens import list_records

    async with opened_store(store_settings(args)) as store:
        records = await list_records(store)
    for record in sorted(records, key=lambda r: (r.tenant or "", r.id)):
        limits = []
        if record.zones is not None:
            limits.append("zones " + ",".join(record.zones))
        if record.read_only:
            limits.append("read-only")
        print(
            f"{record.id}  {record.role.value:<6}  {record.tenant or '-':<20}  {' '.join(limits) or '-'}  "
            f"{record.description}"
        )
    return EXIT_OK


async def _token_revoke(args: argparse.Namespace) -> int:
    from gslb.api.audit import AuditChange, audit_op
    from gslb.api.tokens import delete_op, get_record
    from gslb.store import ConflictError

    async with opened_store(store_settings(args)) as store:
        found = await get_record(store, args.id)
        if found is None:
            raise UserFacingError(
                f"no token with id {args.id!r} ('gslb token list' shows them)", EXIT_REFUSED
            )
        record, rev = found
        audit = audit_op(
            record.tenant,
            actor="cli",
            action="gslb token revoke",
            rev_before=await store.revision(),
            changes=[AuditChange(f"token:{record.id}", "revoke", rev)],
        )
        try:
            await store.commit([delete_op(record.id, rev), audit], actor="cli")
        except ConflictError:
            raise UserFacingError(f"token {args.id} changed meanwhile; run again", EXIT_REFUSED) from None
    print(f"revoked {record.id}")
    return EXIT_OK


async def _audit(args: argparse.Namespace) -> int:
    from gslb.api.audit import read_entries

    if args.limit < 1:
        raise UserFacingError("--limit must be at least 1", 2)
    async with opened_store(store_settings(args)) as store:
        entries, _ = await read_entries(store, args.tenant, before=None, limit=args.limit)
    for entry in entries:
        if args.json:
            print(json.dumps(entry, sort_keys=True))
            continue
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(entry["ts"]))
        print(
            f"{when}Z  rev {entry['rev_before']}->{entry['rev_after']}  {entry['actor']}  {entry['action']}"
        )
        for change in entry["changes"]:
            print(f"    {change['action']:<7} {change['key']} (was rev {change['rev_before']})")
    return EXIT_OK
