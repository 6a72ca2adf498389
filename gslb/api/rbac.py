"""Who may do what: roles bound to a tenant, inherited down the tenant tree. Pure: no I/O.

A principal (the holder of a token) has one role on one tenant and, through inheritance, on every
tenant below it; a platform admin has no tenant and sees everything. A token may be narrowed
further to some zones and to read-only. Tenants outside a principal's subtree are *hidden*
(the API answers 404, as for a name that does not exist), so nobody learns another tenant's names;
what is visible but not allowed is *forbidden* (403).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # platform administrator: every tenant, tenant roots, admin tokens
    OWNER = "owner"  # a tenant and its sub-tenants: policy, sub-tenants, tokens
    EDITOR = "editor"  # policy objects of the tenant subtree
    VIEWER = "viewer"  # read only


RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2, Role.ADMIN: 3}


class Action(StrEnum):
    READ = "read"
    WRITE = "write"  # policy objects: zones, record sets, checks, VIPs, upstreams, routes, anycast
    MANAGE = "manage"  # tenants and tokens


class Decision(Enum):
    ALLOW = "allow"
    HIDDEN = "hidden"  # answer as if it did not exist
    FORBIDDEN = "forbidden"


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: str
    role: Role
    tenant: str | None  # None only for admins
    zones: frozenset[str] | None = None  # None: every zone of the subtree
    read_only: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def subtree(parents: Mapping[str, str | None], root: str) -> frozenset[str]:
    """`root` and every tenant below it (`parents` maps each tenant to its parent)."""
    children: dict[str, list[str]] = {}
    for name, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(name)
    found = {root} if root in parents else set()
    stack = [root] if found else []
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:  # a loop (refused by validation) must not hang us
                found.add(child)
                stack.append(child)
    return frozenset(found)


def visible_tenants(principal: Principal, parents: Mapping[str, str | None]) -> frozenset[str]:
    if principal.is_admin:
        return frozenset(parents)
    if principal.tenant is None:
        return frozenset()
    return subtree(parents, principal.tenant)


def decide(
    principal: Principal,
    action: Action,
    tenant: str,
    parents: Mapping[str, str | None],
    *,
    zone: str | None = None,
) -> tuple[Decision, str]:
    """May `principal` do `action` on an object of `tenant` (inside `zone`, for zone content)?"""
    if tenant not in visible_tenants(principal, parents):
        return Decision.HIDDEN, "no such object"
    zone_limited = principal.zones is not None
    if zone_limited and zone is not None and zone not in (principal.zones or ()):
        return Decision.FORBIDDEN, f"this token is limited to the zones {sorted(principal.zones or ())}"
    if action is Action.READ:
        return Decision.ALLOW, ""
    if principal.read_only or principal.role is Role.VIEWER:
        return Decision.FORBIDDEN, "this token may only read"
    if zone_limited and zone is None:
        return Decision.FORBIDDEN, "a zone-limited token may change only its zones' content"
    if action is Action.MANAGE and RANK[principal.role] < RANK[Role.OWNER]:
        return Decision.FORBIDDEN, "managing tenants and tokens needs the owner role"
    return Decision.ALLOW, ""


def may_grant(principal: Principal, role: Role, tenant: str | None, parents: Mapping[str, str | None]) -> str:
    """Why `principal` may not create a token with `role` on `tenant`; "" when it may.

    Nobody hands out more than they hold: owners grant owner, editor or viewer inside their subtree;
    only admins create admin tokens.
    """
    if principal.read_only or principal.zones is not None or RANK[principal.role] < RANK[Role.OWNER]:
        return "creating tokens needs an owner or admin token that is not read-only or zone-limited"
    if role is Role.ADMIN:
        return "" if principal.is_admin else "only an admin can create admin tokens"
    if tenant is None:
        return "a token of role owner, editor or viewer needs a tenant"
    if tenant not in visible_tenants(principal, parents):
        return f"tenant {tenant!r} does not exist"
    return ""
