"""The audit log: one entry per mutation, committed atomically with it, readable per tenant.

Entries are store documents of kind `audit`, owned by the tenant whose objects changed (the store's
tenant index then lists one tenant's entries cheaply). The name starts with a nanosecond timestamp,
so key order is time order. "Revision after" is the entry document's own revision: it is written
in the same commit as the change, so the store stamps both with the same number.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gslb.store import DocRef, Put, Store, StoredDoc

AUDIT_KIND = "audit"
PLATFORM = "_platform"  # entries about no tenant (admin tokens)


@dataclass(frozen=True, slots=True)
class AuditChange:
    key: str
    action: str  # create | update | delete | revoke
    rev_before: int  # 0: did not exist


def audit_op(
    tenant: str | None,
    *,
    actor: str,
    action: str,
    rev_before: int,
    changes: Sequence[AuditChange],
    request_id: str | None = None,
) -> Put:
    owner = tenant or PLATFORM
    name = f"{owner}/{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    body = {
        "ts": time.time(),
        "actor": actor,
        "action": action,
        "tenant": tenant,
        "rev_before": rev_before,
        "changes": [{"key": c.key, "action": c.action, "rev_before": c.rev_before} for c in changes],
    }
    if request_id:
        body["request_id"] = request_id
    return Put(DocRef(AUDIT_KIND, name), tenant or "", body, if_rev=0)


def plan_audit_ops(
    plan: Any, before: Any, revisions: Mapping[str, int], *, actor: str, action: str
) -> list[Put]:
    """One entry per tenant a plan (gslb.importer.plan.Plan) touches, for an import's commit."""
    after = plan.apply(before)
    by_tenant: dict[str | None, list[AuditChange]] = {}
    for change in plan.changes():
        spec = change.old if change.old is not None else change.new
        tenant = (before if change.old is not None else after).tenant_of(spec)
        by_tenant.setdefault(tenant, []).append(
            AuditChange(change.key, change.action, revisions.get(change.key, 0))
        )
    return [
        audit_op(tenant, actor=actor, action=action, rev_before=before.revision, changes=changes)
        for tenant, changes in sorted(by_tenant.items(), key=lambda item: item[0] or "")
    ]


def entry_json(doc: StoredDoc) -> dict[str, Any]:
    return {"id": doc.ref.name, **doc.body, "rev_after": doc.rev}


async def read_entries(
    store: Store, tenant: str | None, *, before: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, `limit` entries older than the entry id `before`; and the cursor for the next page."""
    keys = await store.list_keys(kind=AUDIT_KIND, tenant=tenant or "")
    keys.reverse()
    if before is not None:
        keys = [key for key in keys if key < f"{AUDIT_KIND}:{before}"]
    page = keys[:limit]
    found = await store.get_many(DocRef.parse(key) for key in page)
    entries = [entry_json(found[key]) for key in page if key in found]
    more = len(keys) > limit
    return entries, (page[-1].partition(":")[2] if more and page else None)
