"""Atomic batches of record-set changes in one zone: all apply at one revision, or none does."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gslb.api.context import context, flag, read_json
from gslb.api.problems import ErrorItem, invalid, precondition_required
from gslb.api.rbac import Action
from gslb.api.resources import RRSET
from gslb.api.routes_objects import body_items, zone_of_url
from gslb.api.writes import Write, execute
from gslb.policy import PolicyError
from gslb.policy.problems import problems_from_validation_error
from gslb.policy.records import record_set_doc_name

MAX_BATCH = 10_000


class RecordPut(BaseModel):
    """Create or replace one record set; `revision` is required to replace one (its ETag)."""

    model_config = ConfigDict(extra="forbid")
    op: Literal["put"]
    record: dict[str, Any] = Field(description="a record set with name and type, as in POST .../rrsets")
    revision: int | None = Field(None, ge=0, le=2**62, description="the revision you read; 0 or null: create")


class RecordDelete(BaseModel):
    """Delete one record set at the revision you read."""

    model_config = ConfigDict(extra="forbid")
    op: Literal["delete"]
    name: str = Field(min_length=1, max_length=253)
    type: str = Field(min_length=1, max_length=16)
    revision: int = Field(ge=1, le=2**62)


class ChangesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    changes: list[Annotated[RecordPut | RecordDelete, Field(discriminator="op")]] = Field(
        min_length=1, max_length=MAX_BATCH
    )


async def zone_changes(request: web.Request) -> web.Response:
    ctx = await context(request)
    tenant = request.match_info["tenant"]
    ctx.require(Action.READ, tenant)
    zone = zone_of_url(ctx, tenant, request.match_info["zone"], must_exist=True)
    ctx.require(Action.WRITE, tenant, zone=zone)
    body = await read_json(request)
    dry_run, force = flag(request, "dry_run"), flag(request, "force")
    try:
        batch = ChangesRequest.model_validate(body)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, model_fields=ChangesRequest.model_fields)
        raise invalid(
            "the batch is not valid; nothing was written",
            [ErrorItem(p.message, pointer=p.pointer) for p in problems],
        ) from None
    write = Write(tenant=tenant, action=f"POST {request.path}")
    errors: list[ErrorItem] = []
    missing: list[ErrorItem] = []
    for index, change in enumerate(batch.changes):
        where = f"/changes/{index}"
        if isinstance(change, RecordPut):
            try:
                spec = RRSET.parse(change.record, {"zone": zone})
            except PolicyError as exc:
                errors.extend(body_items(exc, change.record, {"zone": zone}, f"{where}/record"))
                continue
            key = f"rrset:{spec.doc_name()}"
            exists = key in ctx.policy.docs
            if exists and not change.revision:
                missing.append(
                    ErrorItem("replacing a record set needs its revision", pointer=f"{where}/revision")
                )
                continue
            write.put(spec, expected=change.revision or 0, pointer=f"{where}/record", url_fields=("zone",))
        else:
            name = change.name.strip().lower() or "@"
            key = f"rrset:{record_set_doc_name(zone, name, change.type.upper())}"
            write.delete(key, expected=change.revision, pointer=where)
    if errors:
        raise invalid("a change is not valid; nothing was written", errors)
    if missing:
        raise precondition_required("updates need the revision you read; nothing was written", missing)
    outcome = await execute(ctx, write, dry_run=dry_run, force=force)
    return web.json_response(
        {"dry_run": dry_run, "applied": outcome.applied, "revision": outcome.revision, "plan": outcome.plan}
    )
