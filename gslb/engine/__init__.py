"""The pure engine: compile policy documents and a health view into an immutable answer snapshot,
and select dynamic answers per query. No I/O, no clock, no asyncio."""

from gslb.engine.compile import compile_policy, recompile
from gslb.engine.dynamic import CompiledRule, DynamicAnswer, NearestCandidate, compile_dynamic
from gslb.engine.health_view import HealthView, member_health_key, member_is_up, member_probe_target
from gslb.engine.outcome import Member, Outcome
from gslb.engine.select import ClientContext, GeoLike, Selection, query_entropy, select, sticky_entropy
from gslb.engine.snapshot import Answer, Node, Referral, Snapshot, StaticAnswer, ZoneSnapshot
from gslb.engine.zone import compile_zone, static_answer

__all__ = [
    "Answer",
    "ClientContext",
    "CompiledRule",
    "DynamicAnswer",
    "GeoLike",
    "HealthView",
    "Member",
    "NearestCandidate",
    "Node",
    "Outcome",
    "Referral",
    "Selection",
    "Snapshot",
    "StaticAnswer",
    "ZoneSnapshot",
    "compile_dynamic",
    "compile_policy",
    "compile_zone",
    "member_health_key",
    "member_is_up",
    "member_probe_target",
    "query_entropy",
    "recompile",
    "select",
    "static_answer",
    "sticky_entropy",
]
