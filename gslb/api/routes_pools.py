"""The pools of a dynamic record set as their own resource: read, replace or remove one pool without
sending the whole record set. A pool lives inside its record set, so its ETag is the record set's
revision, and every change is a validated update of the record set (a rule still naming a removed
pool is refused, with the rule's pointer)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gslb.api.context import etag, flag, if_match, read_json
from gslb.api.problems import ErrorItem, invalid, not_found, precondition_required
from gslb.api.rbac import Action
from gslb.api.resources import RRSET
from gslb.api.routes_objects import Located, locate, plan_response
from gslb.api.writes import Write, execute
from gslb.policy import PolicyError, parse_document
from gslb.policy.problems import escape_pointer_token


async def _dynamic_record(request: web.Request, action: Action) -> tuple[Located, Any]:
    found = await locate(request, RRSET, action)
    spec = found.spec
    if spec is None:
        raise not_found(f"{found.key.partition(':')[2]} does not exist")
    if getattr(spec, "dynamic", None) is None:
        raise not_found(f"{found.key.partition(':')[2]} has no dynamic answers, so no pools")
    return found, spec


def _pool_json(found: Located, pool: str, spec: Any, revision: int) -> dict[str, Any]:
    return {
        "kind": "pool",
        "tenant": found.tenant,
        "zone": found.ident["zone"],
        "record": found.ident["name"],
        "type": found.ident["type"],
        "name": pool,
        "revision": revision,
        "spec": spec.model_dump(mode="json"),
    }


def _require_if_match(request: web.Request) -> int:
    wanted = if_match(request)
    if wanted is None:
        raise precondition_required(
            "changing a pool changes its record set: send If-Match with the record set's ETag",
            [ErrorItem("missing", header="If-Match")],
        )
    return wanted


async def get_pool(request: web.Request) -> web.Response:
    found, spec = await _dynamic_record(request, Action.READ)
    pool = request.match_info["pool"]
    if pool not in spec.dynamic.pools:
        raise not_found(f"pool {pool[:63]!r} does not exist")
    revision = found.revision
    return web.json_response(
        _pool_json(found, pool, spec.dynamic.pools[pool], revision), headers={"ETag": etag(revision)}
    )


async def _change(request: web.Request, new_pool: dict[str, Any] | None) -> web.Response:
    found, spec = await _dynamic_record(request, Action.WRITE)
    pool = request.match_info["pool"]
    wanted = _require_if_match(request)
    if new_pool is None and pool not in spec.dynamic.pools:
        raise not_found(f"pool {pool[:63]!r} does not exist")
    body = spec.model_dump(mode="json", exclude_defaults=True)
    pools = body["dynamic"]["pools"]
    if new_pool is None:
        del pools[pool]
    else:
        pools[pool] = new_pool
    inside = f"/dynamic/pools/{escape_pointer_token(pool)}"
    try:
        updated = parse_document("rrset", body)
    except PolicyError as exc:
        items = [
            ErrorItem(p.message, pointer=p.pointer[len(inside) :])
            if p.pointer.startswith(inside)
            else ErrorItem(f"{p.pointer}: {p.message} (in the record set)", pointer="")
            for p in exc.problems
        ]
        raise invalid("the pool is not valid; nothing was written", items) from None
    write = Write(tenant=found.tenant, action=f"{request.method} {request.path}")
    write.put(updated, expected=wanted, strip=inside)
    dry_run, force = flag(request, "dry_run"), flag(request, "force")
    outcome = await execute(found.ctx, write, dry_run=dry_run, force=force)
    if dry_run:
        return plan_response(outcome)
    if new_pool is None:
        return web.Response(status=204)
    revision = outcome.revision if outcome.applied else found.revision
    return web.json_response(
        _pool_json(found, pool, updated.dynamic.pools[pool], revision), headers={"ETag": etag(revision)}
    )


async def put_pool(request: web.Request) -> web.Response:
    body = await read_json(request)
    return await _change(request, body)


async def delete_pool(request: web.Request) -> web.Response:
    return await _change(request, None)
