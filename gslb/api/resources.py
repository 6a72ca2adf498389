"""The resources of the API: which policy kind each URL holds, and how request bodies become documents.

A document's identity (tenant, zone, name, record type) comes from the URL; the request body is
the rest of its spec, exactly as under the object's key in a policy YAML file (repeating an
identity field in the body is an error, as there). Create requests to a collection carry the
object's name (and a record set's type) in the body instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from gslb.policy import HEALTH_CHECK_CLASSES, AnycastSpec, RouteSpec, TenantSpec, UpstreamPoolSpec, VipSpec
from gslb.policy.base import normalize_fqdn
from gslb.policy.problems import PolicyError, Problem, pointer
from gslb.policy.records import RECORD_SET_CLASSES, record_set_doc_name
from gslb.policy.tenancy import ZoneSpec


@dataclass(frozen=True, slots=True)
class Resource:
    kind: str
    collection: str  # URL segment of the collection
    title: str
    classes: tuple[type[BaseModel], ...]
    url_fields: tuple[str, ...]  # spec fields taken from the URL of an item
    create_fields: tuple[str, ...]  # of those, the ones a create request names in its body

    def key(self, ident: Mapping[str, str]) -> str:
        if self.kind == "tenant":
            return f"tenant:{ident['name']}"
        if self.kind == "zone":
            return f"zone:{ident['name']}"
        if self.kind == "rrset":
            return f"rrset:{record_set_doc_name(ident['zone'], ident['name'], ident['type'])}"
        return f"{self.kind}:{ident['tenant']}/{ident['name']}"

    def identity_of(self, spec: Any) -> dict[str, str]:
        return {name: str(getattr(spec, name)) for name in self.url_fields}

    def envelope(self, spec: Any, revision: int, tenant: str) -> dict[str, Any]:
        """The JSON of an object: identity, revision and the spec without the identity fields."""
        out: dict[str, Any] = {"kind": self.kind, "tenant": tenant, "name": str(spec.name)}
        if self.kind == "rrset":
            out["zone"] = spec.zone
            out["type"] = spec.type
        out["revision"] = revision
        out["spec"] = spec.model_dump(mode="json", exclude=set(self.url_fields))
        return out

    def parse(self, body: Mapping[str, Any], ident: Mapping[str, str]) -> Any:
        """The document a body describes at `ident`; PolicyError (pointers into the body) otherwise."""
        repeated = [name for name in ident if name in body]
        if repeated:
            raise PolicyError(
                [
                    Problem(f"{name!r} comes from the URL; remove it from the body", pointer(name))
                    for name in repeated
                ]
            )
        from gslb.policy import parse_document

        return parse_document(self.kind, {**body, **ident})


def _tenant_object(kind: str, collection: str, title: str, *classes: type[BaseModel]) -> Resource:
    return Resource(kind, collection, title, classes, ("tenant", "name"), ("name",))


TENANT = Resource("tenant", "tenants", "Tenants", (TenantSpec,), ("name",), ("name",))
ZONE = Resource("zone", "zones", "Zones", (ZoneSpec,), ("tenant", "name"), ("name",))
RRSET = Resource(
    "rrset",
    "rrsets",
    "Record sets",
    tuple(dict.fromkeys(RECORD_SET_CLASSES.values())),
    ("zone", "name", "type"),
    ("name", "type"),
)
TENANT_OBJECTS = (
    _tenant_object("check", "checks", "Health checks", *dict.fromkeys(HEALTH_CHECK_CLASSES.values())),
    _tenant_object("vip", "vips", "L4 VIPs", VipSpec),
    _tenant_object("upstream", "upstreams", "L7 upstream pools", UpstreamPoolSpec),
    _tenant_object("route", "routes", "L7 routes", RouteSpec),
    _tenant_object("anycast", "anycast", "Anycast announcements", AnycastSpec),
)
ALL = (TENANT, ZONE, RRSET, *TENANT_OBJECTS)
BY_KIND = {resource.kind: resource for resource in ALL}


def zone_name(text: str) -> str | None:
    """The absolute zone name a URL segment means, or None when it cannot be one."""
    try:
        return normalize_fqdn(text)
    except ValueError:
        return None


def record_type(text: str) -> str:
    return text.upper()
