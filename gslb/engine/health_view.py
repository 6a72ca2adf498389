"""The health view the engine compiles against, and the key health states are stored under.

The view is a plain mapping from `member_health_key(...)` to True (up) / False (down): the health
checker writes states under the same keys, so compile needs no knowledge of checks or quorum.

A member whose check has no state yet counts as UP: unknown health fails open. Answering a pool
that was never probed is better than answering nothing while checkers start; the health issue
persists states so a restarted node does not answer blind for long.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from ipaddress import ip_address
from typing import TypeAlias

from gslb.policy.dynamic import PoolMemberSpec

__all__ = ["HealthView", "member_health_key", "member_is_up", "member_probe_target"]

HealthView: TypeAlias = Mapping[str, bool]


# Dotted-quad text without leading zeros is already canonical: no need to parse it (3 µs a time).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")


def _canonical_target(target: str) -> str:
    # One member written "2001:DB8::1" and another "2001:db8:0::1" probe the same address and must
    # share one state; host names compare case-insensitively and with or without the root dot.
    if _CANONICAL_IPV4.fullmatch(target):
        return target
    text = target.strip()
    try:
        return str(ip_address(text))
    except ValueError:
        return text.lower().rstrip(".")


def member_health_key(tenant: str, check_name: str, target: str) -> str:
    """Key of the health state of `check_name` (of `tenant`) probing `target` (address or host name)."""
    return f"{tenant}/{check_name}/{_canonical_target(target)}"


def member_probe_target(member: PoolMemberSpec) -> str:
    """What the member's check probes: its `probe` when given, else the answered value."""
    return member.probe if member.probe is not None else member.value


def member_is_up(member: PoolMemberSpec, tenant: str, health: HealthView) -> bool:
    """Effective state: forced by `status`, else the view's state for its check (unknown = up)."""
    if member.status == "up":
        return True
    if member.status == "down":
        return False
    if member.health_check is None:
        return True
    return health.get(member_health_key(tenant, member.health_check, member_probe_target(member)), True)
