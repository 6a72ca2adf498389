"""The document kinds of the policy store: one registry maps a kind to its model and naming.

Store names are global within a kind: zones by name, record sets by zone/name/type, and every
tenant-scoped object as "tenant/name".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from gslb.policy.anycast import AnycastSpec
from gslb.policy.health import HEALTH_CHECK_CLASSES, AnyHealthCheck
from gslb.policy.l4 import VipSpec
from gslb.policy.l7 import RouteSpec, UpstreamPoolSpec
from gslb.policy.problems import PolicyError, Problem, pointer, problems_from_validation_error
from gslb.policy.records import AnyRecordSet, record_set_class
from gslb.policy.tenancy import TenantSpec, ZoneSpec


@dataclass(frozen=True, slots=True)
class KindInfo:
    kind: str
    choose_class: Callable[[Mapping[str, Any]], type[BaseModel]]
    doc_name: Callable[[Any], str]


def _fixed(cls: type[BaseModel]) -> Callable[[Mapping[str, Any]], type[BaseModel]]:
    return lambda _body: cls


def _by_discriminator(field: str, choose: Callable[[Any], type[BaseModel]]) -> Callable[..., type[BaseModel]]:
    def pick(body: Mapping[str, Any]) -> type[BaseModel]:
        if field not in body:
            raise _Unparseable(Problem(f"required field {field!r} is missing", pointer(field)))
        try:
            return choose(body[field])
        except ValueError as exc:
            raise _Unparseable(Problem(str(exc), pointer(field))) from None

    return pick


def _check_class(value: Any) -> type[BaseModel]:
    if not isinstance(value, str) or value not in HEALTH_CHECK_CLASSES:
        raise ValueError(f"unknown check type {value!r}; use one of {', '.join(HEALTH_CHECK_CLASSES)}")
    return HEALTH_CHECK_CLASSES[value]


class _Unparseable(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


KINDS: dict[str, KindInfo] = {
    info.kind: info
    for info in (
        KindInfo("tenant", _fixed(TenantSpec), lambda spec: spec.name),
        KindInfo("zone", _fixed(ZoneSpec), lambda spec: spec.name),
        KindInfo("rrset", _by_discriminator("type", record_set_class), lambda spec: spec.doc_name()),
        KindInfo("check", _by_discriminator("type", _check_class), lambda spec: spec.doc_name()),
        KindInfo("vip", _fixed(VipSpec), lambda spec: spec.doc_name()),
        KindInfo("upstream", _fixed(UpstreamPoolSpec), lambda spec: spec.doc_name()),
        KindInfo("route", _fixed(RouteSpec), lambda spec: spec.doc_name()),
        KindInfo("anycast", _fixed(AnycastSpec), lambda spec: spec.doc_name()),
    )
}
KIND_OF_CLASS: dict[type, str] = {
    TenantSpec: "tenant",
    ZoneSpec: "zone",
    VipSpec: "vip",
    UpstreamPoolSpec: "upstream",
    RouteSpec: "route",
    AnycastSpec: "anycast",
}


def parse_document(kind: str, body: Any, *, doc: str | None = None, base: str = "") -> Any:
    """Validate one document body into its frozen model, or raise PolicyError listing every problem."""
    if kind not in KINDS:
        raise PolicyError(
            [Problem(f"unknown document kind {kind!r}; use one of {', '.join(KINDS)}", base, doc)]
        )
    if not isinstance(body, Mapping):
        raise PolicyError([Problem(f"a {kind} must be an object, not {type(body).__name__}", base, doc)])
    info = KINDS[kind]
    if kind == "rrset" and isinstance(body.get("type"), str):
        body = {**body, "type": body["type"].upper()}
    try:
        cls = info.choose_class(body)
    except _Unparseable as exc:
        problem = exc.problem
        raise PolicyError([Problem(problem.message, base + problem.pointer, doc)]) from None
    try:
        return cls.model_validate(body)
    except ValidationError as exc:
        raise PolicyError(
            problems_from_validation_error(exc, doc=doc, base=base, model_fields=cls.model_fields)
        ) from None


def kind_of(spec: Any) -> str:
    if isinstance(spec, AnyRecordSet):
        return "rrset"
    if isinstance(spec, AnyHealthCheck):
        return "check"
    return KIND_OF_CLASS[type(spec)]


def doc_key(spec: Any) -> str:
    """Store key "kind:name" of a parsed document."""
    kind = kind_of(spec)
    return f"{kind}:{KINDS[kind].doc_name(spec)}"
