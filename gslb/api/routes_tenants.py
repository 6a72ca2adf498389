"""Tenants: organisations nest, and whoever owns a tenant manages its sub-tenants, never its own place
in the tree (that would let an owner climb out of, or graft foreign tenants into, its subtree)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gslb.api.context import Context, context, flag, page_params, paginate, read_json
from gslb.api.problems import conflict, forbidden, not_found
from gslb.api.rbac import Action
from gslb.api.resources import TENANT
from gslb.api.routes_objects import object_response, parse_body, plan_response
from gslb.api.writes import Write, execute


def check_tenant_change(ctx: Context, new: Any, old: Any | None) -> None:
    principal = ctx.principal
    if principal.is_admin:
        return
    if old is not None and old.parent == new.parent:
        return  # not moved: managing the tenant itself (checked by the caller) is enough
    if old is not None and new.name == principal.tenant:
        raise forbidden("a tenant owner cannot move its own tenant; ask the owner of the parent")
    if new.parent is None:
        raise forbidden("only an admin can create or change top-level tenants; give a parent")
    if new.parent not in ctx.visible:
        raise not_found(f"parent tenant {new.parent!r} does not exist")
    ctx.require(Action.MANAGE, new.parent)


def check_tenant_delete(ctx: Context, tenant: str) -> None:
    if not ctx.principal.is_admin and tenant == ctx.principal.tenant:
        raise forbidden("a tenant owner cannot delete its own tenant; ask the owner of the parent")
    children = [name for name, parent in ctx.parents.items() if parent == tenant]
    owned = [
        key
        for key, spec in ctx.policy.docs.items()
        if not key.startswith("tenant:") and ctx.policy.tenant_of(spec) == tenant
    ]
    if children or owned:
        raise conflict(
            f"tenant {tenant!r} still has {len(children)} sub-tenant(s) and {len(owned)} object(s); "
            "delete them first",
            slug="not-empty",
        )


async def list_tenants(request: web.Request) -> web.Response:
    ctx = await context(request)
    limit, cursor = page_params(request)
    pairs = [(name, spec) for name, spec in ctx.policy.of_kind("tenant").items() if name in ctx.visible]
    page = paginate(pairs, limit, cursor)
    page["items"] = [
        TENANT.envelope(spec, ctx.state.revision_of(f"tenant:{spec.name}"), spec.name)
        for spec in page["items"]
    ]
    return web.json_response(page)


async def create_tenant(request: web.Request) -> web.Response:
    ctx = await context(request)
    body = await read_json(request)
    dry_run, force = flag(request, "dry_run"), flag(request, "force")
    spec = parse_body(TENANT, body, {})
    check_tenant_change(ctx, spec, None)
    if not ctx.principal.is_admin:
        ctx.require(Action.MANAGE, spec.parent)
    write = Write(tenant=spec.name, action=f"POST {request.path}")
    write.put(spec, expected=0)
    outcome = await execute(ctx, write, dry_run=dry_run, force=force)
    if dry_run:
        return plan_response(outcome)
    response = object_response(TENANT, spec, outcome.revision, spec.name, 201)
    response.headers["Location"] = f"/v1/tenants/{spec.name}"
    return response
