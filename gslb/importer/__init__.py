"""Policy files in and out: the native YAML format, octoDNS and BIND zone files, plans and export.

Pure: functions take text and return data (the CLI reads files and talks to the store). Every
problem is reported as "FILE:LINE[:COLUMN]: document/pointer: message", all of a file at once.

The native format (FORMAT.md has the full description)::

    tenants:
      acme:
        parent: null            # optional parent tenant (organisations nest)
        display_name: ACME Corp # optional; also labels
        checks:                 # health checks by name (body = check spec without tenant/name)
          web: {type: http, port: 80, path: /healthz, interval: 5, timeout: 1}
        vips:       {name: {...VipSpec without tenant/name...}}
        upstreams:  {name: {...UpstreamPoolSpec...}}
        routes:     {name: {...RouteSpec...}}
        anycast:    {name: {...AnycastSpec...}}
        zones:
          example.com.:
            ttl: 300            # optional zone default TTL, description
            records:            # octoDNS zone YAML: name -> record or list of records ('' = apex)
              '':
                - {type: NS, values: [ns1.example.com., ns2.example.com.]}
              www:
                type: A
                values: [192.0.2.10, 192.0.2.11]
                dynamic: {pools: ..., rules: ..., max_answers: 1, on_all_down: fail_open}

Records follow octoDNS: `value` or `values`, `ttl`, `type`, `dynamic`; an `octodns:` key is
ignored with a warning; MX `{preference, exchange}` (or legacy `{priority, value}`); SRV
`{priority, weight, port, target}`; CAA `{flags, tag, value}`; TXT with `\\;` unescaped; TLSA,
SSHFP, DS and NAPTR as octoDNS field dictionaries or zone-file text; '' is the apex.

Scope: a native file is authoritative for every document of the tenants it lists (nothing of other
tenants, child tenants included); an octoDNS or BIND zone file for its zone's record sets only.
`merge=True` plans never delete. More than 30% of a zone's record sets deleted or changed needs
force (`require_force`).
"""

from gslb.importer.bind import load_bind_zone
from gslb.importer.check import validate_import
from gslb.importer.errors import PolicyImportError, ScopeError
from gslb.importer.export import export_policy_yaml
from gslb.importer.locator import Locator, Position
from gslb.importer.native import load_policy_yaml
from gslb.importer.octodns_zone import load_octodns_zone_yaml
from gslb.importer.plan import DEFAULT_FORCE_THRESHOLD, Change, Plan, plan_changes, require_force
from gslb.importer.result import ImportedPolicy
from gslb.importer.scope import ImportScope

__all__ = [
    "DEFAULT_FORCE_THRESHOLD",
    "Change",
    "ImportScope",
    "ImportedPolicy",
    "Locator",
    "Plan",
    "PolicyImportError",
    "Position",
    "ScopeError",
    "export_policy_yaml",
    "load_bind_zone",
    "load_octodns_zone_yaml",
    "load_policy_yaml",
    "plan_changes",
    "require_force",
    "validate_import",
]
