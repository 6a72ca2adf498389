"""The OpenAPI 3.1 document, generated from the policy models and the endpoint table.

Object bodies are the models' own JSON Schemas (pydantic, draft 2020-12) with the identity fields
removed (they come from the URL), so the document says exactly what validation accepts: unknown
fields are refused (`additionalProperties: false`), ranges and patterns are the models'.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gslb.api.batch import ChangesRequest
from gslb.api.context import MAX_CURSOR_CHARS, MAX_PAGE
from gslb.api.endpoints import ENDPOINTS, Endpoint
from gslb.api.problems import PROBLEM_CONTENT_TYPE
from gslb.api.resources import ALL, ZONE, Resource
from gslb.api.routes_tokens import TokenCreate

API_VERSION = "1.0.0"
REF = "#/components/schemas/"

QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "limit": {"description": "page size", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
    "cursor": {
        "description": "the `next` value of the previous page",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_CHARS},
    },
    "dry_run": {"description": "return the plan without applying it", "schema": {"type": "boolean"}},
    "force": {
        "description": "allow a change that deletes or rewrites more than 30% of a zone, or deletes a zone",
        "schema": {"type": "boolean"},
    },
    "name": {
        "description": "name to explain, relative to the zone or absolute",
        "schema": {"type": "string"},
    },
    "type": {"description": "query type (default A)", "schema": {"type": "string"}},
    "client": {
        "description": "client address or ECS subnet (default 127.0.0.1)",
        "schema": {"type": "string"},
    },
}
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "tenant": {"type": "string", "minLength": 1, "maxLength": 63},
    "zone": {
        "type": "string",
        "minLength": 1,
        "maxLength": 254,
        "description": "zone name, e.g. example.com.",
    },
    "name": {"type": "string", "minLength": 1, "maxLength": 253},
    "type": {"type": "string", "minLength": 1, "maxLength": 16},
    "token_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "pool": {"type": "string", "minLength": 1, "maxLength": 63},
}
# Examples name the objects of the README's walk-through, so example-driven clients reach real ones.
PATH_EXAMPLES = {
    "tenant": "acme",
    "zone": "example.com.",
    "name": "www",
    "type": "A",
    "token_id": "bootstrap",
    "pool": "eu",
}
ERROR_STATUSES = {
    "400": "the request (query, header or JSON syntax) is malformed",
    "401": "no valid bearer token",
    "403": "the token's role does not allow this",
    "404": "no such object (or not visible to this token)",
    "409": "already exists, name taken, not empty, or force=true required",
    "412": "If-Match names an older revision: nothing was written",
    "413": "the body is too large",
    "415": "the body is not JSON",
    "422": "the content is invalid: `errors` lists every reason with a JSON pointer",
    "428": "If-Match is required",
    "429": "rate limit exceeded; see Retry-After",
}


def _strip(schema: dict[str, Any], drop: set[str]) -> dict[str, Any]:
    result = copy.deepcopy(schema)
    result["properties"] = {k: v for k, v in result.get("properties", {}).items() if k not in drop}
    if "required" in result:
        result["required"] = [name for name in result["required"] if name not in drop]
        if not result["required"]:
            del result["required"]
    return result


def _one_of(refs: list[str]) -> dict[str, Any]:
    items = [{"$ref": REF + name} for name in refs]
    return items[0] if len(items) == 1 else {"anyOf": items}


def _resource_schemas(resource: Resource, defs: dict[str, Any], name_of: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    name = resource.kind.capitalize()
    url = set(resource.url_fields)
    body_refs, create_refs, out_refs = [], [], []
    for cls in resource.classes:
        base = cls.__name__
        validation = defs[name_of(cls, "validation")]
        out[f"{base}Body"] = _strip(validation, url)
        out[f"{base}Create"] = _strip(validation, url - set(resource.create_fields))
        out[f"{base}Out"] = _strip(defs[name_of(cls, "serialization")], url)
        body_refs.append(f"{base}Body")
        create_refs.append(f"{base}Create")
        out_refs.append(f"{base}Out")
    if resource is ZONE:
        records = {
            "type": "array",
            "description": "record sets created with the zone (it needs an NS record set at '@')",
            "items": {"$ref": REF + "RrsetCreate"},
        }
        for ref in (*body_refs, *create_refs):
            out[ref]["properties"]["records"] = records
    out[f"{name}Body"] = _one_of(body_refs)
    out[f"{name}Create"] = _one_of(create_refs)
    properties: dict[str, Any] = {
        "kind": {"const": resource.kind},
        "tenant": {"type": "string"},
        "name": {"type": "string"},
        "revision": {"type": "integer", "minimum": 0, "description": "also the ETag"},
        "spec": _one_of(out_refs),
    }
    if resource.kind == "rrset":
        properties["zone"] = {"type": "string"}
        properties["type"] = {"type": "string"}
    out[name] = {
        "type": "object",
        "required": ["kind", "tenant", "name", "revision", "spec"],
        "properties": properties,
    }
    out[f"{name}List"] = _list_of(name)
    return out


def _list_of(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": REF + name}},
            "next": {"type": ["string", "null"], "description": "cursor of the next page; null on the last"},
        },
    }


def _fixed_schemas() -> dict[str, Any]:
    nullable_str = {"type": ["string", "null"]}
    plan_item = {
        "type": "object",
        "required": ["key", "kind", "revision_before"],
        "properties": {
            "key": {"type": "string"},
            "kind": {"type": "string"},
            "revision_before": {"type": "integer"},
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["path"],
                    "properties": {"path": {"type": "string"}, "before": {}, "after": {}},
                },
            },
        },
    }
    token_props = {
        "id": {"type": "string"},
        "role": {"enum": ["admin", "owner", "editor", "viewer"]},
        "tenant": nullable_str,
        "zones": {"type": ["array", "null"], "items": {"type": "string"}},
        "read_only": {"type": "boolean"},
        "description": {"type": "string"},
        "created_at": {"type": "number"},
        "created_by": nullable_str,
    }
    return {
        "ErrorItem": {
            "type": "object",
            "required": ["detail"],
            "properties": {
                "detail": {"type": "string"},
                "pointer": {"type": "string", "description": "JSON pointer into the request body"},
                "parameter": {"type": "string"},
                "header": {"type": "string"},
            },
        },
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "errors": {"type": "array", "items": {"$ref": REF + "ErrorItem"}},
            },
        },
        "Pool": {
            "type": "object",
            "required": ["kind", "tenant", "zone", "record", "type", "name", "revision", "spec"],
            "properties": {
                "kind": {"const": "pool"},
                "tenant": {"type": "string"},
                "zone": {"type": "string"},
                "record": {"type": "string"},
                "type": {"type": "string"},
                "name": {"type": "string"},
                "revision": {"type": "integer"},
                "spec": {"$ref": REF + "PoolSpec"},
            },
        },
        "PlanItem": plan_item,
        "Plan": {
            "type": "object",
            "required": ["creates", "updates", "deletes", "force_required"],
            "properties": {
                "creates": {"type": "array", "items": {"$ref": REF + "PlanItem"}},
                "updates": {"type": "array", "items": {"$ref": REF + "PlanItem"}},
                "deletes": {"type": "array", "items": {"$ref": REF + "PlanItem"}},
                "force_required": {"type": "array", "items": {"type": "string"}},
            },
        },
        "DryRun": {
            "type": "object",
            "required": ["dry_run", "revision", "plan"],
            "properties": {
                "dry_run": {"const": True},
                "revision": {"type": "integer"},
                "plan": {"$ref": REF + "Plan"},
            },
        },
        "ChangesResult": {
            "type": "object",
            "required": ["dry_run", "applied", "revision", "plan"],
            "properties": {
                "dry_run": {"type": "boolean"},
                "applied": {"type": "boolean"},
                "revision": {"type": "integer"},
                "plan": {"$ref": REF + "Plan"},
            },
        },
        "Token": {"type": "object", "required": list(token_props), "properties": token_props},
        "TokenCreated": {
            "type": "object",
            "required": [*token_props, "token", "revision"],
            "properties": {
                **token_props,
                "token": {"type": "string", "description": "the bearer token; shown only here"},
                "revision": {"type": "integer"},
            },
        },
        "TokenList": _list_of("Token"),
        "WhoAmI": {
            "type": "object",
            "required": [*token_props, "tenants"],
            "properties": {**token_props, "tenants": {"type": "array", "items": {"type": "string"}}},
        },
        "AuditEntry": {
            "type": "object",
            "required": ["id", "ts", "actor", "action", "rev_before", "rev_after", "changes"],
            "properties": {
                "id": {"type": "string"},
                "ts": {"type": "number"},
                "actor": {"type": "string"},
                "action": {"type": "string"},
                "tenant": nullable_str,
                "rev_before": {"type": "integer"},
                "rev_after": {"type": "integer"},
                "request_id": {"type": "string"},
                "changes": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["key", "action", "rev_before"],
                        "properties": {
                            "key": {"type": "string"},
                            "action": {"type": "string"},
                            "rev_before": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "AuditList": _list_of("AuditEntry"),
        "HealthState": {
            "type": "object",
            "required": ["key", "check", "target", "state", "revision"],
            "properties": {
                "key": {"type": "string"},
                "check": {"type": "string"},
                "target": {"type": "string"},
                "state": {"type": "string"},
                "revision": {"type": "integer"},
            },
        },
        "HealthList": _list_of("HealthState"),
        "Explanation": {
            "type": "object",
            "required": ["name", "type", "revision", "client", "outcome", "answer", "reason"],
            "properties": {
                "name": {"type": "string"},
                "type": {"type": "string"},
                "revision": {"type": "integer"},
                "client": {"type": "string"},
                "outcome": {"enum": ["refused", "referral", "nxdomain", "nodata", "dynamic", "static"]},
                "zone": nullable_str,
                "source": nullable_str,
                "ttl": {"type": ["integer", "null"]},
                "rule": {"type": ["integer", "null"]},
                "pool": nullable_str,
                "answer": {"type": "array", "items": {"type": "string"}},
                "scope_prefix": {"type": ["integer", "null"]},
                "reason": {"type": "string"},
                "geo": {"type": ["object", "null"]},
            },
        },
    }


def _component_schemas() -> dict[str, Any]:
    inputs: list[Any] = []
    for resource in ALL:
        for cls in resource.classes:
            inputs += [(cls, "validation"), (cls, "serialization")]
    inputs += [(TokenCreate, "validation"), (ChangesRequest, "validation")]
    refs, top = models_json_schema(inputs, ref_template=REF + "{model}")
    defs: dict[str, Any] = top.get("$defs", {})

    def name_of(cls: type[BaseModel], mode: str) -> str:
        return str(refs[(cls, mode)]["$ref"]).rsplit("/", 1)[1]  # type: ignore[index]

    schemas = dict(defs)
    for resource in ALL:
        schemas.update(_resource_schemas(resource, defs, name_of))
    schemas["TenantCreate"] = schemas["TenantCreate"]
    schemas["TokenCreate"] = defs[name_of(TokenCreate, "validation")]
    changes = copy.deepcopy(defs[name_of(ChangesRequest, "validation")])
    schemas["ChangesRequest"] = changes
    put = schemas.get("RecordPut")
    if put is not None:
        put["properties"]["record"] = {"$ref": REF + "RrsetCreate"}
    schemas.update(_fixed_schemas())
    return schemas


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": REF + "Problem"}}},
    }


def _json(ref: str | dict[str, Any]) -> dict[str, Any]:
    schema = {"$ref": REF + ref} if isinstance(ref, str) else ref
    return {"application/json": {"schema": schema}}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = []
    for name in _path_params(endpoint.path):
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": PATH_PARAMETERS[name],
                "example": PATH_EXAMPLES[name],
            }
        )
    for name in endpoint.query:
        parameters.append({"name": name, "in": "query", "required": False, **QUERY_PARAMETERS[name]})
    if endpoint.if_match:
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": "the ETag (revision) you read; required to replace or delete",
                "schema": {"type": "string", "maxLength": 64},
            }
        )
    responses: dict[str, Any] = {}
    dry_run = "dry_run" in endpoint.query
    if endpoint.response is not None:
        if endpoint.status == 201:
            responses["201"] = {"description": "created", "content": _json(endpoint.response)}
            if dry_run:
                responses["200"] = {"description": "the plan of a dry run", "content": _json("DryRun")}
        elif dry_run and endpoint.response != "ChangesResult":
            responses["200"] = {
                "description": "done (or, with dry_run, the plan)",
                "content": _json({"anyOf": [{"$ref": REF + endpoint.response}, {"$ref": REF + "DryRun"}]}),
            }
        else:
            responses[str(endpoint.status)] = {"description": "OK", "content": _json(endpoint.response)}
        if endpoint.created_status:
            responses["201"] = {"description": "created", "content": _json(endpoint.response)}
    else:
        responses[str(endpoint.status)] = {"description": "done"}
        if dry_run:
            responses["200"] = {"description": "the plan of a dry run", "content": _json("DryRun")}
    for status, description in ERROR_STATUSES.items():
        responses[status] = _problem_response(description)
    responses["default"] = _problem_response("any other error, as a problem document")
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if endpoint.request is not None:
        operation["requestBody"] = {"required": True, "content": _json(endpoint.request)}
    return operation


def _path_params(path: str) -> list[str]:
    return [segment[1:-1] for segment in path.split("/") if segment.startswith("{")]


@cache
def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gslb policy API",
            "version": API_VERSION,
            "description": "Tenants, zones, record sets, health checks, VIPs, upstreams, routes and anycast "
            "announcements; tokens, roles and the audit log. Errors are RFC 9457 problem documents. "
            "Human-readable page: /v1/docs.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": _component_schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
