"""The write path of every mutating endpoint: ownership, preconditions, plan, force guard, validation,
then one atomic commit together with its audit entry — or, for a dry run, the plan alone.

Nothing here is specific to one resource: handlers describe a change as documents to put and keys
to delete, with the revisions their client saw, and where in the request body each document came
from (so validation problems point into the body the client sent).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gslb.api.audit import AuditChange, audit_op
from gslb.api.context import Context
from gslb.api.problems import ApiProblem, ErrorItem, conflict, invalid, precondition_failed
from gslb.importer.diff import DEFAULT, field_changes
from gslb.importer.plan import Change, Plan
from gslb.policy import PolicyError, Problem, doc_key
from gslb.store import ConflictError, StaleRevisionError


@dataclass
class Write:
    """A change a request asks for. `expected`: key -> revision the client saw (0: must not exist)."""

    tenant: str  # whose audit log records it
    action: str  # "PUT /v1/..." for the audit log
    puts: list[Any] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)
    # Where each document sits in the request body, and which of its fields came from the URL.
    pointers: dict[str, str] = field(default_factory=dict)
    url_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)

    # A body that is only part of its document (a pool of a record set): the pointer prefix it sits at.
    strip: dict[str, str] = field(default_factory=dict)

    def put(
        self,
        spec: Any,
        *,
        expected: int | None,
        pointer: str = "",
        url_fields: tuple[str, ...] = (),
        strip: str = "",
    ) -> str:
        key = doc_key(spec)
        if strip:
            self.strip[key] = strip
        self.puts.append(spec)
        if expected is not None:
            self.expected[key] = expected
        self.pointers[key] = pointer
        self.url_fields[key] = url_fields
        return key

    def delete(self, key: str, *, expected: int | None, pointer: str = "") -> None:
        self.deletes.append(key)
        if expected is not None:
            self.expected[key] = expected
        self.pointers[key] = pointer


@dataclass(frozen=True, slots=True)
class Outcome:
    revision: int  # the new revision, or the current one for dry runs and no-op changes
    plan: dict[str, Any]
    applied: bool


def _jsonable(value: Any) -> Any:
    return None if value is DEFAULT else value


def _change_json(change: Change, revisions: dict[str, int]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "key": change.key,
        "kind": change.kind,
        "revision_before": revisions.get(change.key, 0),
    }
    if change.action == "update":
        item["fields"] = [
            {"path": where, "before": _jsonable(before), "after": _jsonable(after)}
            for where, before, after in field_changes(
                change.old.model_dump(mode="json"), change.new.model_dump(mode="json")
            )
        ]
    return item


def plan_json(plan: Plan, revisions: dict[str, int], force_required: list[str]) -> dict[str, Any]:
    return {
        "creates": [_change_json(c, revisions) for c in plan.creates],
        "updates": [_change_json(c, revisions) for c in plan.updates],
        "deletes": [_change_json(c, revisions) for c in plan.deletes],
        "force_required": force_required,
    }


def build_plan(ctx: Context, write: Write) -> Plan:
    docs = ctx.policy.docs
    creates, updates = [], []
    for spec in write.puts:
        key = doc_key(spec)
        old = docs.get(key)
        if old is None:
            creates.append(Change(key, None, spec))
        elif old != spec:
            updates.append(Change(key, old, spec))
    deletes = [Change(key, docs[key], None) for key in write.deletes if key in docs]
    sizes = Counter(spec.zone for key, spec in docs.items() if key.startswith("rrset:"))
    return Plan(tuple(creates), tuple(updates), tuple(deletes), dict(sizes))


def force_messages(ctx: Context, plan: Plan) -> list[str]:
    settings = ctx.state.settings
    deleted_zones = {change.old.name for change in plan.deletes if change.kind == "zone"}
    messages = []
    for zone, (changed, total) in plan.risky_zones(settings.force_threshold).items():
        if zone in deleted_zones:
            messages.append(f"zone {zone} would be deleted with all {total} of its record sets")
        elif total >= settings.force_min_zone_size:
            messages.append(
                f"zone {zone}: {changed} of {total} record sets ({changed / total:.0%}) would be deleted "
                f"or changed, more than the {settings.force_threshold:.0%} allowed without force=true"
            )
    return messages


def check_ownership(ctx: Context, keys: list[str]) -> None:
    # A document another tenant owns is never touched through a tenant's request: only zone names
    # (global) can collide, so that is the one thing we say, without naming the owner.
    for key in keys:
        owner = ctx.owner_of(key)
        if key in ctx.policy.docs and (owner is None or owner not in ctx.visible):
            raise conflict(
                f"{key.partition(':')[2]} is taken by another tenant; choose another name", slug="name-taken"
            )


def _check_preconditions(ctx: Context, write: Write) -> None:
    stale = []
    exists = []
    for key, expected in write.expected.items():
        actual = ctx.state.revision_of(key) if key in ctx.policy.docs else 0
        if expected == actual:
            continue
        where = write.pointers.get(key) or None
        if expected == 0:
            exists.append(ErrorItem(f"{key} already exists (revision {actual})", pointer=where))
        elif actual == 0:
            stale.append(ErrorItem(f"{key} does not exist any more", pointer=where))
        else:
            stale.append(ErrorItem(f"{key} is at revision {actual}, not {expected}", pointer=where))
    if stale:
        raise precondition_failed("the object changed since you read it; nothing was written", stale)
    if exists:
        raise conflict("already exists; to replace it, PUT it with If-Match", slug="exists", errors=exists)


async def execute(ctx: Context, write: Write, *, dry_run: bool, force: bool) -> Outcome:
    check_ownership(ctx, [*(doc_key(spec) for spec in write.puts), *write.deletes])
    _check_preconditions(ctx, write)
    plan = build_plan(ctx, write)
    revisions = dict(ctx.state.policy_store.mirror.revisions)
    needs_force = force_messages(ctx, plan)
    changed_puts = [change.new for change in (*plan.creates, *plan.updates)]
    deleted = [change.key for change in plan.deletes]
    if needs_force and not force and not dry_run:
        raise conflict(
            "this change rewrites a large part of a zone; check it with dry_run=true, then repeat it "
            "with force=true",
            slug="force-required",
            errors=[ErrorItem(message) for message in needs_force],
        )
    summary = plan_json(plan, revisions, needs_force)
    if not changed_puts and not deleted:
        return Outcome(ctx.policy.revision, summary, applied=False)
    audit = audit_op(
        write.tenant,
        actor=ctx.actor,
        action=write.action,
        rev_before=ctx.policy.revision,
        changes=[
            AuditChange(change.key, change.action, revisions.get(change.key, 0)) for change in plan.changes()
        ],
        request_id=ctx.request.headers.get("X-Request-Id", "")[:128] or None,
    )
    expected = {
        key: rev for key, rev in write.expected.items() if key in {*deleted, *map(doc_key, changed_puts)}
    }
    try:
        revision = await ctx.state.policy_store.apply(
            changed_puts, deleted, expected=expected, actor=ctx.actor, dry_run=dry_run, extra=[audit]
        )
    except PolicyError as exc:
        raise invalid(
            "the change was refused; nothing was written", problem_items(ctx, write, exc.problems)
        ) from None
    except StaleRevisionError:
        raise ApiProblem(
            503, "busy", "Service busy", "too many concurrent writers; retry", headers={"Retry-After": "1"}
        ) from None
    except ConflictError as exc:
        raise precondition_failed(
            "the object changed since you read it; nothing was written",
            [ErrorItem(str(item), pointer=write.pointers.get(item.key) or None) for item in exc.conflicts],
        ) from None
    if not dry_run:
        ctx.state.metrics.commits.inc()
    return Outcome(revision, summary, applied=not dry_run)


# --- validation problems as the client may see them ---------------------------------------------


def problem_items(ctx: Context, write: Write, problems: tuple[Problem, ...]) -> list[ErrorItem]:
    hidden_tenants = sorted(set(ctx.parents) - ctx.visible, key=len, reverse=True)
    hidden_zones = sorted(
        (name for name, zone in ctx.policy.zones().items() if zone.tenant not in ctx.visible),
        key=len,
        reverse=True,
    )
    items = []
    for problem in problems:
        message = _redact(problem.message, hidden_tenants, hidden_zones)
        if problem.doc is not None and problem.doc in write.pointers:
            tokens = problem.pointer.split("/")
            field_name = tokens[1] if len(tokens) > 1 else ""
            if field_name and field_name in write.url_fields.get(problem.doc, ()):
                items.append(ErrorItem(message, parameter=field_name))
            elif problem.doc in write.strip:
                inside = write.strip[problem.doc]
                if problem.pointer.startswith(inside):
                    items.append(ErrorItem(message, pointer=problem.pointer[len(inside) :]))
                else:
                    items.append(ErrorItem(f"{problem.pointer}: {message} (in the record set)", pointer=""))
            else:
                items.append(ErrorItem(message, pointer=write.pointers[problem.doc] + problem.pointer))
            continue
        owner = ctx.owner_of(problem.doc) if problem.doc else None
        if problem.doc is not None and (owner is None or owner not in ctx.visible):
            items.append(ErrorItem("the change conflicts with an object of another tenant", pointer=""))
        else:
            items.append(ErrorItem(f"{problem.doc or ''}{problem.pointer}: {message}", pointer=""))
    return items


def _redact(message: str, hidden_tenants: list[str], hidden_zones: list[str]) -> str:
    for zone in hidden_zones:
        if zone in message:
            message = re.sub(rf"(?<![\w.-]){re.escape(zone)}", "a zone of another tenant", message)
    for tenant in hidden_tenants:
        if tenant in message:
            message = re.sub(
                rf"(?<![\w-]){re.escape(tenant)}/[\w.-]+", "an object of another tenant", message
            )
            message = re.sub(rf"'{re.escape(tenant)}'", "another tenant", message)
    return message
