"""CRUD of policy objects: tenant-level objects (checks, VIPs, upstreams, routes, anycast), zones and
record sets. One set of handlers serves them all, parameterised by the Resource."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gslb.api.context import (
    Context,
    context,
    etag,
    flag,
    if_match,
    page_params,
    paginate,
    read_json,
)
from gslb.api.problems import ErrorItem, invalid, not_found, precondition_failed, precondition_required
from gslb.api.rbac import Action
from gslb.api.resources import RRSET, TENANT, ZONE, Resource, zone_name
from gslb.api.writes import Write, check_ownership, execute
from gslb.policy import PolicyError, doc_key

MAX_ZONE_RECORDS_ON_CREATE = 10_000


def parse_body(resource: Resource, body: dict[str, Any], ident: dict[str, str], *, base: str = "") -> Any:
    """The document, or 422 with every problem pointing into the body (URL fields as parameters)."""
    try:
        return resource.parse(body, ident)
    except PolicyError as exc:
        raise invalid(
            "the object is not valid; nothing was written", body_items(exc, body, ident, base)
        ) from None


def body_items(exc: PolicyError, body: dict[str, Any], ident: dict[str, str], base: str) -> list[ErrorItem]:
    """Problems of a document made of `body` and the URL's `ident`: URL fields become parameters."""
    items = []
    for problem in exc.problems:
        tokens = problem.pointer.split("/")
        if len(tokens) > 1 and tokens[1] in ident and tokens[1] not in body:
            items.append(ErrorItem(problem.message, parameter=tokens[1]))
        else:
            items.append(ErrorItem(problem.message, pointer=base + problem.pointer))
    return items


class Located:
    """An item URL resolved: who asks, the tenant, the document identity and key, its zone if any."""

    def __init__(
        self, ctx: Context, resource: Resource, tenant: str, ident: dict[str, str], zone: str | None
    ):
        self.ctx = ctx
        self.resource = resource
        self.tenant = tenant
        self.ident = ident
        self.zone = zone
        self.key = resource.key(ident)

    @property
    def spec(self) -> Any | None:
        spec = self.ctx.policy.docs.get(self.key)
        if spec is None or self.ctx.policy.tenant_of(spec) != self.tenant:
            return None
        return spec

    @property
    def revision(self) -> int:
        return self.ctx.state.revision_of(self.key)


def zone_of_url(ctx: Context, tenant: str, text: str, *, must_exist: bool) -> str:
    zone = zone_name(text)
    if zone is None and not must_exist:
        raise invalid("the zone name is not valid", [ErrorItem(_zone_error(text), parameter="zone")])
    if zone is None:
        raise not_found(f"zone {text[:80]!r} does not exist")
    spec = ctx.policy.zones().get(zone)
    if must_exist and (spec is None or spec.tenant != tenant):
        raise not_found(f"zone {zone} does not exist in tenant {tenant!r}")
    return zone


def _zone_error(text: str) -> str:
    from gslb.policy.base import normalize_fqdn

    try:
        normalize_fqdn(text)
    except ValueError as exc:
        return str(exc)
    return "not a zone name"


async def locate(request: web.Request, resource: Resource, action: Action) -> Located:
    ctx = await context(request)
    info = request.match_info
    if resource is TENANT:
        tenant = info["tenant"]
        if action is Action.READ or tenant in ctx.parents:
            ctx.require(action if action is Action.READ else Action.MANAGE, tenant)
        # else: creating a tenant by PUT; check_tenant_change decides on its parent
        return Located(ctx, resource, tenant, {"name": tenant}, None)
    tenant = info["tenant"]
    if resource is ZONE:
        ctx.require(Action.READ, tenant)
        zone = zone_of_url(ctx, tenant, info["zone"], must_exist=action is Action.READ)
        ctx.require(action, tenant, zone=zone)
        return Located(ctx, resource, tenant, {"tenant": tenant, "name": zone}, zone)
    if resource is RRSET:
        ctx.require(Action.READ, tenant)
        zone = zone_of_url(ctx, tenant, info["zone"], must_exist=True)
        ctx.require(action, tenant, zone=zone)
        name = info["name"].lower()
        return Located(
            ctx, resource, tenant, {"zone": zone, "name": name, "type": info["type"].upper()}, zone
        )
    ctx.require(action, tenant)
    return Located(ctx, resource, tenant, {"tenant": tenant, "name": info["name"]}, None)


def object_response(
    resource: Resource, spec: Any, revision: int, tenant: str, status: int = 200
) -> web.Response:
    return web.json_response(
        resource.envelope(spec, revision, tenant), status=status, headers={"ETag": etag(revision)}
    )


def plan_response(outcome: Any) -> web.Response:
    return web.json_response({"dry_run": True, "revision": outcome.revision, "plan": outcome.plan})


# --- handlers -------------------------------------------------------------------------------------


def list_handler(resource: Resource) -> Any:
    async def handler(request: web.Request) -> web.Response:
        ctx = await context(request)
        tenant = request.match_info["tenant"]
        ctx.require(Action.READ, tenant)
        limit, cursor = page_params(request)
        pairs: list[tuple[str, Any]] = []
        if resource is RRSET:
            zone = zone_of_url(ctx, tenant, request.match_info["zone"], must_exist=True)
            ctx.require(Action.READ, tenant, zone=zone)
            for record in ctx.policy.zone_records().get(zone, ()):
                pairs.append((f"{record.name}/{record.type}", record))
        elif resource is ZONE:
            for name, zone_spec in ctx.policy.zones().items():
                if zone_spec.tenant == tenant and ctx.zone_allowed(name):
                    pairs.append((name, zone_spec))
        else:
            for spec in ctx.policy.of_kind(resource.kind).values():
                if spec.tenant == tenant:
                    pairs.append((spec.name, spec))
        page = paginate(pairs, limit, cursor)
        page["items"] = [
            resource.envelope(spec, ctx.state.revision_of(doc_key(spec)), tenant) for spec in page["items"]
        ]
        return web.json_response(page)

    return handler


def get_handler(resource: Resource) -> Any:
    async def handler(request: web.Request) -> web.Response:
        found = await locate(request, resource, Action.READ)
        spec = found.spec
        if spec is None:
            raise not_found(f"{found.key.partition(':')[2]} does not exist")
        return object_response(resource, spec, found.revision, found.tenant)

    return handler


def _records_on_create(found: Located, body: dict[str, Any], write: Write) -> None:
    records = body.pop("records", None)
    if records is None:
        return
    if found.spec is not None:
        raise invalid(
            "records can only be given when creating a zone; change record sets through /rrsets or /changes",
            [ErrorItem("remove it", pointer="/records")],
        )
    if not isinstance(records, list) or len(records) > MAX_ZONE_RECORDS_ON_CREATE:
        raise invalid(
            "records must be a list of record sets",
            [ErrorItem(f"a list of at most {MAX_ZONE_RECORDS_ON_CREATE} record sets", pointer="/records")],
        )
    items: list[ErrorItem] = []
    zone = found.ident["name"]
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            items.append(ErrorItem("a record set must be an object", pointer=f"/records/{index}"))
            continue
        try:
            spec = RRSET.parse(record, {"zone": zone})
        except PolicyError as exc:
            items.extend(body_items(exc, record, {"zone": zone}, f"/records/{index}"))
            continue
        write.put(spec, expected=0, pointer=f"/records/{index}", url_fields=("zone",))
    if items:
        raise invalid("a record set is not valid; nothing was written", items)


def put_handler(resource: Resource) -> Any:
    async def handler(request: web.Request) -> web.Response:
        found = await locate(request, resource, Action.WRITE)
        body = await read_json(request)
        dry_run, force = flag(request, "dry_run"), flag(request, "force")
        ctx = found.ctx
        write = Write(tenant=found.tenant, action=f"PUT {request.path}")
        if resource is ZONE:
            _records_on_create(found, body, write)
        spec = parse_body(resource, body, found.ident)
        check_ownership(ctx, [found.key])
        existing = found.key in ctx.policy.docs
        wanted = if_match(request)
        if existing and wanted is None:
            raise precondition_required(
                "replacing an object needs If-Match with the ETag you read; GET it first",
                [ErrorItem("missing", header="If-Match")],
            )
        if not existing and wanted is not None:
            raise precondition_failed(f"{found.key.partition(':')[2]} does not exist any more")
        if resource is TENANT:
            from gslb.api.routes_tenants import check_tenant_change

            check_tenant_change(ctx, spec, ctx.policy.docs.get(found.key))
        write.put(spec, expected=wanted if existing else 0, url_fields=resource.url_fields)
        outcome = await execute(ctx, write, dry_run=dry_run, force=force)
        if dry_run:
            return plan_response(outcome)
        revision = outcome.revision if outcome.applied else found.revision
        return object_response(resource, spec, revision, found.tenant, 200 if existing else 201)

    return handler


def create_handler(resource: Resource) -> Any:
    """POST to a collection: the body names the object; it must not exist yet."""

    async def handler(request: web.Request) -> web.Response:
        ctx = await context(request)
        info = request.match_info
        tenant = info["tenant"]
        body = await read_json(request)
        dry_run, force = flag(request, "dry_run"), flag(request, "force")
        write = Write(tenant=tenant, action=f"POST {request.path}")
        ctx.require(Action.READ, tenant)
        ident: dict[str, str] = {"tenant": tenant}
        if resource is RRSET:
            zone = zone_of_url(ctx, tenant, info["zone"], must_exist=True)
            ctx.require(Action.WRITE, tenant, zone=zone)
            ident = {"zone": zone}
        elif resource is not ZONE:
            ctx.require(Action.WRITE, tenant)
        records = body.pop("records", None) if resource is ZONE else None
        spec = parse_body(resource, body, ident)
        target_zone = spec.name if resource is ZONE else getattr(spec, "zone", None)
        ctx.require(Action.WRITE, tenant, zone=target_zone)
        key = write.put(spec, expected=0, url_fields=tuple(ident))
        if records is not None:
            located = Located(ctx, resource, tenant, {"tenant": tenant, "name": spec.name}, spec.name)
            _records_on_create(located, {"records": records}, write)
        outcome = await execute(ctx, write, dry_run=dry_run, force=force)
        if dry_run:
            return plan_response(outcome)
        response = object_response(resource, spec, outcome.revision, tenant, 201)
        response.headers["Location"] = f"{request.path.rstrip('/')}/{_item_path(resource, key, spec)}"
        return response

    return handler


def _item_path(resource: Resource, key: str, spec: Any) -> str:
    if resource is RRSET:
        return f"{spec.name}/{spec.type}"
    return str(spec.name)


def delete_handler(resource: Resource) -> Any:
    async def handler(request: web.Request) -> web.Response:
        found = await locate(request, resource, Action.WRITE)
        dry_run, force = flag(request, "dry_run"), flag(request, "force")
        ctx = found.ctx
        if found.spec is None:
            raise not_found(f"{found.key.partition(':')[2]} does not exist")
        wanted = if_match(request)
        if wanted is None:
            raise precondition_required(
                "deleting an object needs If-Match with the ETag you read; GET it first",
                [ErrorItem("missing", header="If-Match")],
            )
        write = Write(tenant=found.tenant, action=f"DELETE {request.path}")
        write.delete(found.key, expected=wanted)
        if resource is ZONE:
            # A zone goes with its record sets; the force guard asks for force=true.
            for spec in ctx.policy.zone_records().get(found.ident["name"], ()):
                write.delete(doc_key(spec), expected=None)
        if resource is TENANT:
            from gslb.api.routes_tenants import check_tenant_delete

            check_tenant_delete(ctx, found.tenant)
        outcome = await execute(ctx, write, dry_run=dry_run, force=force)
        if dry_run:
            return plan_response(outcome)
        return web.Response(status=204)

    return handler
