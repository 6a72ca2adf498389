"""The API application: routes from the endpoint table, then three middlewares — problems (every error
becomes an RFC 9457 document, and is counted), authentication, and the per-token rate limit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gslb.api.context import STATE_KEY, TOKEN_KEY, ApiSettings, ApiState, state_of
from gslb.api.docs_page import docs_html
from gslb.api.endpoints import ENDPOINTS
from gslb.api.metrics import ApiMetrics
from gslb.api.openapi import openapi_document
from gslb.api.problems import PROBLEM_CONTENT_TYPE, ApiProblem, from_status, unauthorized
from gslb.api.ratelimit import retry_after_header
from gslb.api.tokens import authenticate
from gslb.store import InvalidRequestError, Store, StoreError, StoreUnavailableError

log = logging.getLogger("gslb.api")

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/v1/docs", "/v1/docs/"})
MAX_AUTH_HEADER = 1024
MAX_REQUEST_LINE = 64 * 1024


def problem_response(problem: ApiProblem, request: web.Request) -> web.Response:
    import json

    response = web.Response(
        status=problem.status,
        body=json.dumps(problem.to_json(instance=request.path[:512])).encode(),
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def _route_label(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def problems_middleware(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        response = await handler(request)
    except ApiProblem as problem:
        response = problem_response(problem, request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        detail = exc.reason if exc.status != 404 else f"no endpoint {request.path[:200]!r}; see /v1/docs"
        response = problem_response(from_status(exc.status, detail, headers), request)
    except InvalidRequestError as exc:
        # Input the policy layer let through but the store cannot hold: still the client's request.
        response = problem_response(from_status(400, str(exc)), request)
    except StoreUnavailableError as exc:
        log.error("store unavailable: %s", exc)
        unavailable = from_status(503, "the policy store is unavailable; retry shortly", {"Retry-After": "1"})
        response = problem_response(unavailable, request)
    except StoreError as exc:
        log.error("store error on %s %s: %s", request.method, request.path, exc)
        response = problem_response(from_status(500, "the policy store failed; see the server log"), request)
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        response = problem_response(from_status(500, "unexpected server error; see the server log"), request)
    metrics = state_of(request).metrics
    metrics.requests.labels(request.method, _route_label(request), str(response.status)).inc()
    metrics.latency.labels(request.method).observe(time.perf_counter() - started)
    return response


@web.middleware
async def auth_middleware(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, text = header.partition(" ")
    if scheme.lower() != "bearer" or not text.strip() or len(header) > MAX_AUTH_HEADER:
        raise unauthorized("send 'Authorization: Bearer TOKEN' (create tokens with 'gslb token create')")
    state = state_of(request)
    record = await authenticate(state.store, text.strip())
    if record is None:
        raise unauthorized("the token is unknown or revoked")
    wait = state.limiter.acquire(record.id, time.monotonic())
    if wait > 0:
        state.metrics.rate_limited.inc()
        raise ApiProblem(
            429,
            "rate-limited",
            "Too many requests",
            f"this token may make {state.settings.rate:g} requests per second (bursts of "
            f"{state.settings.burst}); retry later",
            headers={"Retry-After": retry_after_header(wait)},
        )
    request[TOKEN_KEY] = record
    return await handler(request)


async def _openapi(_request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


async def _docs(_request: web.Request) -> web.Response:
    return web.Response(text=docs_html(), content_type="text/html")


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    state = state_of(request)
    try:
        await state.store.revision()
        ready = state.ready()
    except StoreError:
        ready = False
    return web.json_response({"ready": ready}, status=200 if ready else 503)


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(state_of(request).metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(
    store: Store,
    *,
    settings: ApiSettings | None = None,
    snapshot: Callable[[], Any] | None = None,
    geo: Any | None = None,
    ready: Callable[[], bool] | None = None,
) -> web.Application:
    """The API over `store`; `snapshot` (the live compiled snapshot) enables explain."""
    settings = settings or ApiSettings()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[problems_middleware, auth_middleware],
        # Room for the longest URL the OpenAPI document allows (names and cursors percent-encoded);
        # beyond it aiohttp answers a plain-text 400 before any middleware runs.
        handler_args={"max_line_size": MAX_REQUEST_LINE, "max_field_size": MAX_REQUEST_LINE},
    )
    state = ApiState(store, settings, ApiMetrics(), snapshot=snapshot, geo=geo)
    if ready is not None:
        state.ready = ready
    app[STATE_KEY] = state
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler, name=endpoint.operation_id)
    app.router.add_get("/v1/openapi.json", _openapi)
    app.router.add_get("/v1/docs", _docs)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    return app
