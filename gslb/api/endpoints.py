"""Every endpoint of the API in one table: the router is built from it, and so is the OpenAPI document,
so the two cannot disagree."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from gslb.api import batch, routes_objects, routes_pools, routes_read, routes_tenants, routes_tokens
from gslb.api.resources import RRSET, TENANT, TENANT_OBJECTS, ZONE, Resource

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    request: str | None = None  # component schema of the JSON body
    response: str | None = None  # component schema of the success body; None: no body
    status: int = 200
    query: tuple[str, ...] = ()  # names in openapi.QUERY_PARAMETERS
    if_match: str | None = None  # "required" or "optional"
    created_status: bool = False  # PUT: 201 when it creates


def _resource_endpoints(resource: Resource, base: str, item: str) -> list[Endpoint]:
    name = resource.kind.capitalize()
    title = resource.title
    singular = title.lower().rstrip("s") if not title.endswith("cast announcements") else "announcement"
    write_query = ("dry_run", "force")
    return [
        Endpoint(
            "GET",
            base,
            routes_objects.list_handler(resource),
            f"list{name}",
            f"List {title.lower()}",
            title,
            response=f"{name}List",
            query=("limit", "cursor"),
        ),
        Endpoint(
            "POST",
            base,
            routes_objects.create_handler(resource),
            f"create{name}",
            f"Create a {singular}",
            title,
            request=f"{name}Create",
            response=f"{name}",
            status=201,
            query=write_query,
        ),
        Endpoint(
            "GET",
            item,
            routes_objects.get_handler(resource),
            f"get{name}",
            f"Read a {singular}",
            title,
            response=name,
        ),
        Endpoint(
            "PUT",
            item,
            routes_objects.put_handler(resource),
            f"put{name}",
            f"Create or replace a {singular} (replacing needs If-Match)",
            title,
            request=f"{name}Body",
            response=name,
            query=write_query,
            if_match="optional",
            created_status=True,
        ),
        Endpoint(
            "DELETE",
            item,
            routes_objects.delete_handler(resource),
            f"delete{name}",
            f"Delete a {singular}",
            title,
            response=None,
            status=204,
            query=write_query,
            if_match="required",
        ),
    ]


T = "/v1/tenants/{tenant}"
Z = T + "/zones/{zone}"
P = Z + "/rrsets/{name}/{type}/pools/{pool}"


def _all() -> list[Endpoint]:
    endpoints = [
        Endpoint(
            "GET",
            "/v1/whoami",
            routes_tokens.whoami,
            "whoami",
            "The token in use and the tenants it sees",
            "Tokens",
            response="WhoAmI",
        ),
        Endpoint(
            "GET",
            "/v1/tenants",
            routes_tenants.list_tenants,
            "listTenant",
            "List the tenants you see",
            "Tenants",
            response="TenantList",
            query=("limit", "cursor"),
        ),
        Endpoint(
            "POST",
            "/v1/tenants",
            routes_tenants.create_tenant,
            "createTenant",
            "Create a tenant",
            "Tenants",
            request="TenantCreate",
            response="Tenant",
            status=201,
            query=("dry_run", "force"),
        ),
        Endpoint(
            "GET",
            T,
            routes_objects.get_handler(TENANT),
            "getTenant",
            "Read a tenant",
            "Tenants",
            response="Tenant",
        ),
        Endpoint(
            "PUT",
            T,
            routes_objects.put_handler(TENANT),
            "putTenant",
            "Create or replace a tenant",
            "Tenants",
            request="TenantBody",
            response="Tenant",
            query=("dry_run", "force"),
            if_match="optional",
            created_status=True,
        ),
        Endpoint(
            "DELETE",
            T,
            routes_objects.delete_handler(TENANT),
            "deleteTenant",
            "Delete an empty tenant",
            "Tenants",
            status=204,
            query=("dry_run", "force"),
            if_match="required",
        ),
        *_resource_endpoints(ZONE, T + "/zones", Z),
        *_resource_endpoints(RRSET, Z + "/rrsets", Z + "/rrsets/{name}/{type}"),
        Endpoint(
            "GET",
            P,
            routes_pools.get_pool,
            "getPool",
            "Read one pool of a dynamic record set",
            "Record sets",
            response="Pool",
        ),
        Endpoint(
            "PUT",
            P,
            routes_pools.put_pool,
            "putPool",
            "Create or replace one pool of a dynamic record set (If-Match: the record set's ETag)",
            "Record sets",
            request="PoolSpec",
            response="Pool",
            query=("dry_run", "force"),
            if_match="required",
        ),
        Endpoint(
            "DELETE",
            P,
            routes_pools.delete_pool,
            "deletePool",
            "Remove one pool of a dynamic record set (If-Match: the record set's ETag)",
            "Record sets",
            status=204,
            query=("dry_run", "force"),
            if_match="required",
        ),
        Endpoint(
            "POST",
            Z + "/changes",
            batch.zone_changes,
            "changeZone",
            "Apply record-set changes to one zone atomically",
            "Record sets",
            request="ChangesRequest",
            response="ChangesResult",
            query=("dry_run", "force"),
        ),
        Endpoint(
            "GET",
            Z + "/explain",
            routes_read.explain_handler,
            "explain",
            "Which rule, pool and members answer a name for a client, and why",
            "Health and decisions",
            response="Explanation",
            query=("name", "type", "client"),
        ),
    ]
    for resource in TENANT_OBJECTS:
        collection = f"{T}/{resource.collection}"
        endpoints += _resource_endpoints(resource, collection, collection + "/{name}")
    endpoints += [
        Endpoint(
            "GET",
            T + "/health",
            routes_read.tenant_health,
            "listHealth",
            "Health states of the tenant's members",
            "Health and decisions",
            response="HealthList",
            query=("limit", "cursor"),
        ),
        Endpoint(
            "GET",
            T + "/audit",
            routes_read.tenant_audit,
            "tenantAudit",
            "The tenant's audit log, newest first",
            "Audit",
            response="AuditList",
            query=("limit", "cursor"),
        ),
        Endpoint(
            "GET",
            "/v1/audit",
            routes_read.platform_audit,
            "platformAudit",
            "Audit entries about no tenant (admin tokens); admins only",
            "Audit",
            response="AuditList",
            query=("limit", "cursor"),
        ),
        Endpoint(
            "GET",
            "/v1/tokens",
            routes_tokens.list_tokens,
            "listTokens",
            "List the tokens you manage",
            "Tokens",
            response="TokenList",
            query=("limit", "cursor"),
        ),
        Endpoint(
            "POST",
            "/v1/tokens",
            routes_tokens.create_token,
            "createToken",
            "Create a token (its text is returned once)",
            "Tokens",
            request="TokenCreate",
            response="TokenCreated",
            status=201,
        ),
        Endpoint(
            "GET",
            "/v1/tokens/{token_id}",
            routes_tokens.get_token,
            "getToken",
            "Read a token's metadata",
            "Tokens",
            response="Token",
        ),
        Endpoint(
            "DELETE",
            "/v1/tokens/{token_id}",
            routes_tokens.revoke_token,
            "revokeToken",
            "Revoke a token, effective immediately",
            "Tokens",
            status=204,
        ),
    ]
    return endpoints


ENDPOINTS: tuple[Endpoint, ...] = tuple(_all())
