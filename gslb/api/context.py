"""Per-app state and per-request context: the caller, the policy at this moment, what the caller may see."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from gslb.api.metrics import ApiMetrics
from gslb.api.problems import ErrorItem, bad_request, forbidden, from_status, invalid, not_found
from gslb.api.ratelimit import RateLimiter
from gslb.api.rbac import Action, Decision, Principal, decide, visible_tenants
from gslb.api.tokens import TokenRecord
from gslb.policy import PolicySet
from gslb.store import PolicyStore, Store

MAX_PAGE = 1000
DEFAULT_PAGE = 100
MAX_CURSOR_CHARS = 1024


@dataclass(frozen=True, slots=True)
class ApiSettings:
    max_body_bytes: int = 1024 * 1024
    rate: float = 50.0  # requests per second per token
    burst: int = 100
    force_threshold: float = 0.30
    # Zones smaller than this are not held back by the force guard (as octoDNS does): changing one
    # record of a three-record zone is routine, not a sign of a wrong file.
    force_min_zone_size: int = 10


@dataclass
class ApiState:
    store: Store
    settings: ApiSettings
    metrics: ApiMetrics
    snapshot: Callable[[], Any] | None = None  # the compiled snapshot, for explain
    geo: Any | None = None  # a geodata GeoDatabase, for explain
    ready: Callable[[], bool] = lambda: True
    policy_store: PolicyStore = field(init=False)
    limiter: RateLimiter = field(init=False)
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.policy_store = PolicyStore(self.store)
        self.limiter = RateLimiter(self.settings.rate, self.settings.burst)

    async def current(self) -> PolicySet:
        # One refresh at a time: concurrent refreshes of the shared mirror could apply feed entries
        # out of order and briefly show an older state.
        async with self._lock:
            return await self.policy_store.current()

    def revision_of(self, key: str) -> int:
        return self.policy_store.mirror.revisions.get(key, 0)


STATE_KEY: web.AppKey[ApiState] = web.AppKey("gslb_api_state", ApiState)


def state_of(request: web.Request) -> ApiState:
    return request.app[STATE_KEY]


@dataclass
class Context:
    """What one request works with; built once per request by `context()`."""

    request: web.Request
    state: ApiState
    token: TokenRecord
    policy: PolicySet
    parents: Mapping[str, str | None]
    visible: frozenset[str]

    @property
    def principal(self) -> Principal:
        return self.token.principal()

    @property
    def actor(self) -> str:
        return f"token:{self.token.id}"

    def require(self, action: Action, tenant: str, *, zone: str | None = None) -> None:
        decision, reason = decide(self.principal, action, tenant, self.parents, zone=zone)
        if decision is Decision.HIDDEN:
            raise not_found(f"tenant {tenant!r} does not exist")
        if decision is Decision.FORBIDDEN:
            raise forbidden(reason)

    def zone_allowed(self, zone: str) -> bool:
        zones = self.principal.zones
        return zones is None or zone in zones

    def owner_of(self, key: str) -> str | None:
        spec = self.policy.docs.get(key)
        return None if spec is None else self.policy.tenant_of(spec)


TOKEN_KEY: web.RequestKey[TokenRecord] = web.RequestKey("gslb_api_token", TokenRecord)


async def context(request: web.Request) -> Context:
    state = state_of(request)
    token = request[TOKEN_KEY]
    policy = await state.current()
    parents = {name: spec.parent for name, spec in policy.of_kind("tenant").items()}
    return Context(request, state, token, policy, parents, visible_tenants(token.principal(), parents))


# --- request parsing ----------------------------------------------------------------------------


def _json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: JSON allows the syntax, but no such number can be stored
        raise ValueError(f"{text[:40]} is too large")
    return value


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated key would silently keep only its last value: refuse it, as the YAML importer does.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key[:80]!r} appears twice in one object")
        result[key] = value
    return result


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body, or a problem saying exactly what is wrong with it."""
    if request.content_type != "application/json" and not request.content_type.endswith("+json"):
        raise from_status(
            415,
            f"send the body as JSON with 'Content-Type: application/json', not {request.content_type!r}",
        )
    limit = state_of(request).settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise from_status(413, f"the body is {request.content_length} bytes; the limit is {limit}")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise from_status(413, f"the body is larger than the limit of {limit} bytes") from None
    try:
        text = raw.decode("utf-8")
        body = json.loads(
            text, parse_constant=_json_constant, parse_float=_json_float, object_pairs_hook=_json_object
        )
    except UnicodeDecodeError as exc:
        raise bad_request(f"the body is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise bad_request(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise bad_request(f"the body is not acceptable JSON: {exc}") from None
    if not isinstance(body, dict):
        raise invalid(
            "the body must be a JSON object",
            [ErrorItem(f"expected an object, got {type(body).__name__}", pointer="")],
        )
    return body


def flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name)
    if value is None:
        return False
    lowered = value.lower()
    if lowered in ("true", "1", "yes", ""):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise bad_request(
        f"query parameter {name} must be true or false",
        [ErrorItem(f"{value[:40]!r} is not true or false", parameter=name)],
    )


def page_params(request: web.Request) -> tuple[int, str | None]:
    """(limit, cursor) of a list request."""
    raw = request.query.get("limit")
    limit = DEFAULT_PAGE
    if raw is not None:
        if not raw.isdigit() or len(raw) > 7 or not 1 <= int(raw) <= MAX_PAGE:
            raise bad_request(
                f"limit must be a whole number from 1 to {MAX_PAGE}",
                [ErrorItem(f"{raw[:40]!r} is not between 1 and {MAX_PAGE}", parameter="limit")],
            )
        limit = int(raw)
    cursor = request.query.get("cursor")
    if cursor is not None and (not cursor or len(cursor) > MAX_CURSOR_CHARS):
        raise bad_request(
            "cursor must be the 'next' value of the previous page",
            [ErrorItem("empty or too long", parameter="cursor")],
        )
    return limit, cursor


def paginate(items: list[tuple[str, Any]], limit: int, cursor: str | None) -> dict[str, Any]:
    """One page of (sort key, item) pairs sorted by key; the cursor is the last key of a page."""
    items.sort(key=lambda pair: pair[0])
    if cursor is not None:
        items = [pair for pair in items if pair[0] > cursor]
    page = items[:limit]
    return {
        "items": [item for _, item in page],
        "next": page[-1][0] if len(items) > limit and page else None,
    }


def etag(revision: int) -> str:
    return f'"{revision}"'


def if_match(request: web.Request) -> int | None:
    """The revision an If-Match header names (None when absent)."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    text = raw.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit() or len(text) > 18 or int(text) < 1:
        raise bad_request(
            'If-Match must be the ETag of the object, a revision in quotes such as "42"',
            [ErrorItem(f"{raw[:40]!r} is not an ETag this API gave out", header="If-Match")],
        )
    return int(text)
