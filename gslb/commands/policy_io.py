"""`gslb import|export|validate|status`: declarative policy files in, YAML out, plans before writes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gslb.commands.common import (
    EXIT_OK,
    EXIT_REFUSED,
    UserFacingError,
    bullet_list,
    opened_store,
    store_settings,
)

FORCE_THRESHOLD = 0.30


def register(commands: argparse._SubParsersAction, add_store_options: Any) -> None:
    importer = commands.add_parser(
        "import",
        help="apply a policy YAML file (or an octoDNS / BIND zone file) after showing the plan",
        description="Computes the plan (creates, updates, deletes) against the store, prints it, and "
        "applies it atomically. A policy file is authoritative for the tenants it lists; a zone file "
        "(--octodns, --bind) for that zone's record sets. A plan that deletes or rewrites more than 30%% "
        "of an existing zone's record sets needs --force.",
    )
    _add_source_options(importer)
    importer.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    importer.add_argument("--force", action="store_true", help="allow plans that rewrite >30%% of a zone")
    importer.add_argument("--merge", action="store_true", help="create and update only, never delete")
    add_store_options(importer)
    importer.set_defaults(handler=_import)

    validator = commands.add_parser(
        "validate",
        help="check a policy or zone file offline (no store), listing every problem with file:line",
    )
    _add_source_options(validator)
    validator.set_defaults(handler=_validate)

    exporter = commands.add_parser("export", help="write the policy as YAML that `gslb import` accepts")
    exporter.add_argument("--tenant", action="append", default=None, help="only this tenant (repeatable)")
    exporter.add_argument("-o", "--output", type=Path, help="write to a file (atomically) instead of stdout")
    add_store_options(exporter)
    exporter.set_defaults(handler=_export)

    status = commands.add_parser("status", help="the store's revision and what it holds")
    add_store_options(status)
    status.set_defaults(handler=_status)


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="policy YAML file ('-' for standard input)")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--octodns", action="store_true", help="FILE is an octoDNS zone YAML file (needs --zone)"
    )
    kind.add_argument("--bind", action="store_true", help="FILE is an RFC 1035 zone file (needs --zone)")
    parser.add_argument("--zone", help="zone the file describes (with --octodns or --bind)")
    parser.add_argument("--tenant", help="owner of the zone, needed to create it (with --octodns or --bind)")


def _read(path: Path) -> tuple[str, str]:
    if str(path) == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise UserFacingError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UserFacingError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def load_source(args: argparse.Namespace) -> Any:
    """Parse the file named on the command line into an ImportedPolicy, or raise a located error."""
    from gslb.importer import PolicyImportError, load_bind_zone, load_octodns_zone_yaml, load_policy_yaml

    text, filename = _read(args.file)
    if (args.octodns or args.bind) and not args.zone:
        raise UserFacingError("--octodns and --bind need --zone NAME (the zone the file describes)", 2)
    if args.zone and not (args.octodns or args.bind):
        raise UserFacingError("--zone applies to --octodns or --bind zone files only", 2)
    try:
        if args.octodns:
            return load_octodns_zone_yaml(
                text,
                filename=filename,
                zone=args.zone,
                tenant=args.tenant,
                create_zone=args.tenant is not None,
            )
        if args.bind:
            return load_bind_zone(
                text,
                filename=filename,
                zone=args.zone,
                tenant=args.tenant,
                create_zone=args.tenant is not None,
            )
        return load_policy_yaml(text, filename=filename)
    except PolicyImportError as exc:
        raise UserFacingError(
            f"{filename}: {len(exc.messages)} problem(s), nothing written:\n{bullet_list(exc.messages)}",
            EXIT_REFUSED,
        ) from None


async def apply_imported(
    policy_store: Any, imported: Any, *, merge: bool, force: bool, dry_run: bool, actor: str, out: Any = None
) -> int | None:
    """Plan, print, guard and commit an import; returns the new revision (None when nothing was written)."""
    from gslb.importer import PolicyImportError, ScopeError, require_force, validate_import
    from gslb.policy import PolicyError
    from gslb.store import ConflictError

    out = out or sys.stdout
    current = await policy_store.current()
    try:
        plan = validate_import(imported, current, merge=merge)
    except (PolicyImportError, ScopeError) as exc:
        raise UserFacingError(
            f"{imported.filename} refused, nothing written:\n{bullet_list(exc.messages)}", EXIT_REFUSED
        ) from None
    for warning in imported.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if plan.is_empty:
        print("no changes: the store already matches the file", file=out)
        return None
    print(plan.render(), file=out)
    risky = require_force(plan, FORCE_THRESHOLD)
    if risky and not force and not dry_run:
        raise UserFacingError(
            "refused, nothing written; this plan rewrites much of a zone:\n"
            f"{bullet_list(risky)}\nCheck the plan above and run again with --force if it is what you want",
            EXIT_REFUSED,
        )
    if dry_run:
        if risky:
            print("note: applying this plan would need --force:\n" + bullet_list(risky), file=out)
        print("dry run: nothing written", file=out)
        return None
    ops = plan.ops(policy_store.mirror.revisions)
    puts = [spec for _key, spec, _expected in ops if spec is not None]
    deletes = [key for key, spec, _expected in ops if spec is None]
    expected = {key: rev for key, _spec, rev in ops if rev is not None}
    from gslb.api.audit import plan_audit_ops

    # The API's audit log records imports too (one entry per tenant), in the same commit.
    audit = plan_audit_ops(plan, current, policy_store.mirror.revisions, actor="cli", action=actor)
    try:
        revision = await policy_store.apply(puts, deletes, expected=expected, actor=actor, extra=audit)
    except PolicyError as exc:
        messages = [imported.locate(problem) for problem in exc.problems]
        raise UserFacingError(f"refused, nothing written:\n{bullet_list(messages)}", EXIT_REFUSED) from None
    except ConflictError as exc:
        raise UserFacingError(
            f"the store changed while importing ({exc}); nothing written. Run the import again", EXIT_REFUSED
        ) from None
    print(f"applied at revision {revision}", file=out)
    return int(revision)


async def apply_yaml_text(policy_store: Any, text: str, filename: str, *, actor: str) -> int:
    """Apply a policy YAML text given by the program itself (the demo); raises on any problem."""
    from gslb.importer import load_policy_yaml

    imported = load_policy_yaml(text, filename=filename)
    revision = await apply_imported(
        policy_store, imported, merge=True, force=False, dry_run=False, actor=actor, out=_Discard()
    )
    return revision if revision is not None else (await policy_store.current()).revision


class _Discard:
    def write(self, _text: str) -> int:
        return 0


async def _import(args: argparse.Namespace) -> int:
    from gslb.store import PolicyStore

    imported = load_source(args)
    async with opened_store(store_settings(args)) as store:
        await apply_imported(
            PolicyStore(store),
            imported,
            merge=args.merge,
            force=args.force,
            dry_run=args.dry_run,
            actor=f"cli import {imported.filename}",
        )
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    """Offline: the file on its own (plus, for zone files, a zone doc so references resolve)."""
    from gslb.importer import PolicyImportError, ScopeError, validate_import
    from gslb.policy import PolicySet, parse_document

    imported = load_source(args)
    current = PolicySet()
    if args.octodns or args.bind:
        # Offline there is no store: stand in the zone (and its tenant) the file will be imported into.
        tenant = args.tenant or "offline"
        current = PolicySet.from_specs(
            [
                parse_document("tenant", {"name": tenant}),
                parse_document("zone", {"name": args.zone, "tenant": tenant}),
            ]
        )
    try:
        plan = validate_import(imported, current)
    except (PolicyImportError, ScopeError) as exc:
        raise UserFacingError(f"{imported.filename}:\n{bullet_list(exc.messages)}", EXIT_REFUSED) from None
    for warning in imported.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{imported.filename}: valid ({len(plan.creates)} documents)")
    return EXIT_OK


async def _export(args: argparse.Namespace) -> int:
    from gslb.importer import export_policy_yaml
    from gslb.store import PolicyStore

    async with opened_store(store_settings(args)) as store:
        policy = await PolicyStore(store).current()
    if args.tenant:
        unknown = sorted(set(args.tenant) - set(policy.of_kind("tenant")))
        if unknown:
            raise UserFacingError(f"no such tenant: {', '.join(unknown)}")
    text = export_policy_yaml(policy, tenants=args.tenant)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    temp = args.output.with_name(args.output.name + ".tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        temp.replace(args.output)
    except OSError as exc:
        raise UserFacingError(f"cannot write {args.output}: {exc.strerror}") from None
    print(f"wrote {args.output} (revision {policy.revision})", file=sys.stderr)
    return EXIT_OK


async def _status(args: argparse.Namespace) -> int:
    from collections import Counter

    settings = store_settings(args)
    async with opened_store(settings) as store:
        dump = await store.load_all()
    kinds = Counter(doc.ref.kind for doc in dump.docs.values())
    tenants = sorted({doc.tenant for doc in dump.docs.values() if doc.ref.kind == "tenant"})
    print(f"store:     {settings.describe()}")
    print(f"revision:  {dump.rev}")
    print(f"tenants:   {', '.join(tenants) or '(none)'}")
    for kind, count in sorted(kinds.items()):
        print(f"{kind + ':':<10} {count}")
    return EXIT_OK
