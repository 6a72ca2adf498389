"""Read-only views: the audit log, health states and decision explanations."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import time
from dataclasses import asdict

import dns.rdatatype
from aiohttp import web

from gslb.api.audit import read_entries
from gslb.api.context import context, page_params
from gslb.api.problems import ApiProblem, ErrorItem, bad_request, forbidden
from gslb.api.rbac import Action
from gslb.api.routes_objects import zone_of_url
from gslb.engine.explain import explain
from gslb.store import DocRef

EXPLAIN_CATCH_UP = 1.0
HEALTH_KIND = "health"  # the store kind health states are written under (gslb.feed reads the same)


async def tenant_audit(request: web.Request) -> web.Response:
    ctx = await context(request)
    tenant = request.match_info["tenant"]
    ctx.require(Action.READ, tenant)
    if ctx.principal.zones is not None:
        raise forbidden("the audit log covers the whole tenant; a zone-limited token cannot read it")
    limit, cursor = page_params(request)
    entries, next_cursor = await read_entries(ctx.state.store, tenant, before=cursor, limit=limit)
    return web.json_response({"items": entries, "next": next_cursor})


async def platform_audit(request: web.Request) -> web.Response:
    ctx = await context(request)
    if not ctx.principal.is_admin:
        raise forbidden("the platform audit log is for admins; read a tenant's at /v1/tenants/{tenant}/audit")
    limit, cursor = page_params(request)
    entries, next_cursor = await read_entries(ctx.state.store, None, before=cursor, limit=limit)
    return web.json_response({"items": entries, "next": next_cursor})


async def tenant_health(request: web.Request) -> web.Response:
    ctx = await context(request)
    tenant = request.match_info["tenant"]
    ctx.require(Action.READ, tenant)
    limit, cursor = page_params(request)
    keys = [
        key
        for key in await ctx.state.store.list_keys(kind=HEALTH_KIND)
        if key.startswith(f"{HEALTH_KIND}:{tenant}/")
    ]
    if cursor is not None:
        keys = [key for key in keys if key.partition(":")[2] > cursor]
    page = keys[:limit]
    docs = await ctx.state.store.get_many(DocRef.parse(key) for key in page)
    items = []
    for key in page:
        doc = docs.get(key)
        if doc is None:
            continue
        _tenant, check, target = (
            doc.ref.name.split("/", 2) if doc.ref.name.count("/") >= 2 else (tenant, "", "")
        )
        state = doc.body.get("state")
        items.append(
            {
                "key": doc.ref.name,
                "check": check,
                "target": target,
                "state": state if isinstance(state, str) else "unknown",
                "revision": doc.rev,
            }
        )
    next_cursor = page[-1].partition(":")[2] if len(keys) > limit and page else None
    return web.json_response({"items": items, "next": next_cursor})


async def explain_handler(request: web.Request) -> web.Response:
    ctx = await context(request)
    tenant = request.match_info["tenant"]
    ctx.require(Action.READ, tenant)
    zone = zone_of_url(ctx, tenant, request.match_info["zone"], must_exist=True)
    ctx.require(Action.READ, tenant, zone=zone)
    state = ctx.state
    if state.snapshot is None:
        raise ApiProblem(503, "unavailable", "Service unavailable", "this API server compiles no snapshot")
    query = request.query
    errors: list[ErrorItem] = []
    raw_name = query.get("name", "@").strip().lower()
    if raw_name in ("", "@"):
        name = zone
    elif raw_name.endswith("."):
        name = raw_name
    else:
        name = f"{raw_name}.{zone}"
    if not (name == zone or name.endswith("." + zone)) or len(name) > 254:
        errors.append(ErrorItem(f"{raw_name[:80]!r} is not in zone {zone}", parameter="name"))
    try:
        rdtype = int(dns.rdatatype.from_text(query.get("type", "A").upper()[:16]))
    except (dns.rdatatype.UnknownRdatatype, ValueError):
        errors.append(ErrorItem(f"{query.get('type', '')[:40]!r} is not a DNS record type", parameter="type"))
        rdtype = 1
    client_text = query.get("client", "127.0.0.1")
    try:
        network = ipaddress.ip_network(client_text[:64], strict=False)
    except ValueError:
        errors.append(ErrorItem(f"{client_text[:64]!r} is not an address or subnet", parameter="client"))
        network = ipaddress.ip_network("127.0.0.1/32")
    if errors:
        raise bad_request("the explain query is not valid", errors)
    address = network.network_address
    geo = None
    if state.geo is not None:
        geo = state.geo.lookup(address)
    snapshot = state.snapshot()
    # Right after a write the compiled snapshot may trail the store by a few milliseconds.
    deadline = time.monotonic() + EXPLAIN_CATCH_UP
    while snapshot.revision < ctx.policy.revision and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
        snapshot = state.snapshot()
    found = snapshot.find_zone(name)
    if found is not None and found.name != zone:
        raise bad_request(
            f"{name} is answered from a zone below {zone}; explain it under that zone",
            [ErrorItem("in a sub-zone", parameter="name")],
        )
    result = explain(snapshot, name, rdtype, address, network.prefixlen, geo, random.getrandbits(64))
    body = asdict(result)
    body["answer"] = list(result.answer)
    body["geo"] = (
        {"continent": geo.continent, "country": geo.country, "subdivision": geo.subdivision}
        if geo is not None
        else None
    )
    return web.json_response(body)
