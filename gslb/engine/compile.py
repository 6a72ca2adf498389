"""Compile a whole PolicySet into a Snapshot, or recompile only the zones a change touched.

Compile is pure: it reads no clock and does no I/O, so the same policy and health view always give
the same snapshot (the caller stamps `compiled_at`). Incremental recompile shares every untouched
`ZoneSnapshot` by reference, so a health flap or one API write costs the zones it affects only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from gslb.engine.health_view import HealthView
from gslb.engine.memo import CompileMemo
from gslb.engine.snapshot import Snapshot, ZoneSnapshot
from gslb.engine.zone import compile_zone
from gslb.policy.bulk import gc_paused
from gslb.policy.policyset import PolicySet
from gslb.policy.records import AnyRecordSet

__all__ = ["compile_policy", "recompile"]

_RRSET_PREFIX = "rrset:"


def _records_by_zone(policy: PolicySet, wanted: Collection[str] | None) -> dict[str, list[AnyRecordSet]]:
    # One pass over the documents; record sets of zones that do not exist are never looked at.
    grouped: dict[str, list[AnyRecordSet]] = defaultdict(list)
    for key, spec in policy.docs.items():
        if key.startswith(_RRSET_PREFIX) and (wanted is None or spec.zone in wanted):
            grouped[spec.zone].append(spec)
    return grouped


def compile_policy(
    policy: PolicySet,
    health: HealthView,
    *,
    revision: int | None = None,
    compiled_at: float | None = None,
) -> Snapshot:
    """Snapshot of every zone in `policy` at `revision` (default: the policy's revision).

    The revision is also the SOA serial (mod 2**32) of zones whose SOA leaves it null.
    """
    revision = policy.revision if revision is None else revision
    with gc_paused():
        records = _records_by_zone(policy, None)
        memo = CompileMemo()
        zones = {
            name: compile_zone(spec, records.get(name, ()), health, serial=revision, memo=memo)
            for name, spec in policy.zones().items()
        }
    return Snapshot(revision, zones, compiled_at)


def recompile(
    previous: Snapshot,
    policy: PolicySet,
    health: HealthView,
    *,
    zones: Collection[str],
    revision: int,
    compiled_at: float | None = None,
    keep_serial: Collection[str] = (),
) -> Snapshot:
    """`previous` with the named zones rebuilt from `policy`, zones gone from `policy` dropped,
    zones new in `policy` built, and every other zone shared by reference.

    Untouched zones keep their SOA serial: secondaries only transfer zones that really changed.
    So do the zones in `keep_serial` (rebuilt only because health changed): health changes the
    answers but not what a zone transfer carries (`gslb.engine.transfer`), and a new serial on
    every flap would make every secondary transfer the same zone again.
    """
    with gc_paused():
        specs = policy.zones()
        named = frozenset(zones)
        rebuild = {name for name in specs if name in named or name not in previous.zones}
        records = _records_by_zone(policy, rebuild)
        memo = CompileMemo()
        compiled: dict[str, ZoneSnapshot] = {}
        for name, spec in specs.items():
            if name in rebuild:
                old = previous.zones.get(name)
                serial = old.serial if old is not None and name in keep_serial else revision
                compiled[name] = compile_zone(spec, records.get(name, ()), health, serial=serial, memo=memo)
            else:
                compiled[name] = previous.zones[name]
    return Snapshot(revision, compiled, compiled_at)
