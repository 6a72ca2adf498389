"""Tokens through the API: create (the text is shown once), list, show, revoke. Hashes never leave
the store; a token's own holder may always see and revoke it."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gslb.api.audit import AuditChange, audit_op
from gslb.api.context import TOKEN_KEY, Context, context, page_params, paginate, read_json
from gslb.api.problems import ErrorItem, forbidden, invalid, not_found
from gslb.api.rbac import RANK, Role, may_grant
from gslb.api.resources import zone_name
from gslb.api.tokens import TokenRecord, delete_op, get_record, list_records, new_record, put_op
from gslb.policy.problems import problems_from_validation_error
from gslb.store import ConflictError


class TokenCreate(BaseModel):
    """A new token: its role on a tenant (admins: no tenant), optionally limited to zones or to reading."""

    model_config = ConfigDict(extra="forbid")
    role: Role
    tenant: str | None = Field(None, max_length=63, description="tenant the role is bound to; null for admin")
    zones: list[str] | None = Field(
        None, max_length=1000, description="only these zones of the tenant subtree; null: all"
    )
    read_only: bool = False
    description: str = Field("", max_length=200)


def _can_see(ctx: Context, record: TokenRecord) -> bool:
    if record.id == ctx.token.id:
        return True
    principal = ctx.principal
    if principal.read_only or principal.zones is not None or RANK[principal.role] < RANK[Role.OWNER]:
        return False
    if record.role is Role.ADMIN:
        return principal.is_admin
    return principal.is_admin or record.tenant in ctx.visible


async def create_token(request: web.Request) -> web.Response:
    ctx = await context(request)
    body = await read_json(request)
    try:
        wanted = TokenCreate.model_validate(body)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, model_fields=TokenCreate.model_fields)
        raise invalid(
            "the token request is not valid", [ErrorItem(p.message, pointer=p.pointer) for p in problems]
        ) from None
    if wanted.role is Role.ADMIN and wanted.tenant is not None:
        raise invalid(
            "an admin token has no tenant", [ErrorItem("must be null for role admin", pointer="/tenant")]
        )
    reason = may_grant(ctx.principal, wanted.role, wanted.tenant, ctx.parents)
    if reason:
        if "does not exist" in reason:
            raise not_found(reason)
        raise forbidden(reason)
    zones: list[str] | None = None
    if wanted.zones is not None:
        zones = []
        errors = []
        for index, text in enumerate(wanted.zones):
            zone = zone_name(text)
            spec = ctx.policy.zones().get(zone) if zone else None
            if zone is None or spec is None or spec.tenant not in ctx.visible:
                errors.append(ErrorItem(f"zone {text[:80]!r} does not exist", pointer=f"/zones/{index}"))
            elif wanted.tenant is not None and spec.tenant not in _subtree(ctx, wanted.tenant):
                errors.append(
                    ErrorItem(f"zone {zone} is not in tenant {wanted.tenant!r}", pointer=f"/zones/{index}")
                )
            else:
                zones.append(zone)
        if errors:
            raise invalid("the token's zones are not valid", errors)
    record, text = new_record(
        role=wanted.role,
        tenant=wanted.tenant,
        zones=zones,
        read_only=wanted.read_only,
        description=wanted.description,
        created_by=ctx.actor,
    )
    audit = audit_op(
        record.tenant,
        actor=ctx.actor,
        action=f"POST {request.path}",
        rev_before=ctx.policy.revision,
        changes=[AuditChange(f"token:{record.id}", "create", 0)],
    )
    revision = await ctx.state.store.commit([put_op(record), audit], actor=ctx.actor)
    return web.json_response(
        {**record.public_json(), "token": text, "revision": revision},
        status=201,
        headers={"Location": f"/v1/tokens/{record.id}"},
    )


def _subtree(ctx: Context, tenant: str) -> frozenset[str]:
    from gslb.api.rbac import subtree

    return subtree(ctx.parents, tenant)


async def list_tokens(request: web.Request) -> web.Response:
    ctx = await context(request)
    limit, cursor = page_params(request)
    records = [record for record in await list_records(ctx.state.store) if _can_see(ctx, record)]
    page = paginate([(record.id, record) for record in records], limit, cursor)
    page["items"] = [record.public_json() for record in page["items"]]
    return web.json_response(page)


async def _found(request: web.Request) -> tuple[Context, TokenRecord, int]:
    ctx = await context(request)
    found = await get_record(ctx.state.store, request.match_info["token_id"])
    if found is None or not _can_see(ctx, found[0]):
        raise not_found("no such token")
    return ctx, found[0], found[1]


async def get_token(request: web.Request) -> web.Response:
    _ctx, record, _rev = await _found(request)
    return web.json_response(record.public_json())


async def revoke_token(request: web.Request) -> web.Response:
    ctx, record, rev = await _found(request)
    if record.id != ctx.token.id and (ctx.principal.read_only or ctx.principal.zones is not None):
        raise forbidden("this token may only read")
    audit = audit_op(
        record.tenant,
        actor=ctx.actor,
        action=f"DELETE {request.path}",
        rev_before=ctx.policy.revision,
        changes=[AuditChange(f"token:{record.id}", "revoke", rev)],
    )
    try:
        await ctx.state.store.commit([delete_op(record.id, rev), audit], actor=ctx.actor)
    except ConflictError:
        raise not_found("no such token") from None
    return web.Response(status=204)


async def whoami(request: web.Request) -> web.Response:
    ctx = await context(request)
    return web.json_response({**request[TOKEN_KEY].public_json(), "tenants": sorted(ctx.visible)})
