"""The policy vocabulary every package shares: pydantic v2 models, frozen, unknown fields rejected."""

from gslb.policy.anycast import AnycastSpec, RouteAttributes
from gslb.policy.documents import KINDS, doc_key, kind_of, parse_document
from gslb.policy.dynamic import DynamicSpec, GeoLocation, PoolMemberSpec, PoolSpec, RuleSpec, StickySpec
from gslb.policy.health import HEALTH_CHECK_CLASSES, AnyHealthCheck, DnsCheck, HttpCheck, TcpCheck, UdpCheck
from gslb.policy.l4 import RealSpec, VipSpec
from gslb.policy.l7 import RouteSpec, UpstreamMemberSpec, UpstreamPoolSpec
from gslb.policy.policyset import PolicySet
from gslb.policy.problems import PolicyError, Problem
from gslb.policy.records import APEX, DYNAMIC_TYPES, SUPPORTED_TYPES, AnyRecordSet, record_set_doc_name
from gslb.policy.tenancy import TenantSpec, ZoneSpec
from gslb.policy.transfer import ZoneTransferSpec, notify_address
from gslb.policy.validate import ensure_valid, validate

__all__ = [
    "APEX",
    "DYNAMIC_TYPES",
    "HEALTH_CHECK_CLASSES",
    "KINDS",
    "SUPPORTED_TYPES",
    "AnyHealthCheck",
    "AnyRecordSet",
    "AnycastSpec",
    "DnsCheck",
    "DynamicSpec",
    "GeoLocation",
    "HttpCheck",
    "PolicyError",
    "PolicySet",
    "PoolMemberSpec",
    "PoolSpec",
    "Problem",
    "RealSpec",
    "RouteAttributes",
    "RouteSpec",
    "RuleSpec",
    "StickySpec",
    "TcpCheck",
    "TenantSpec",
    "UdpCheck",
    "UpstreamMemberSpec",
    "UpstreamPoolSpec",
    "VipSpec",
    "ZoneSpec",
    "ZoneTransferSpec",
    "doc_key",
    "ensure_valid",
    "kind_of",
    "notify_address",
    "parse_document",
    "record_set_doc_name",
    "validate",
]
