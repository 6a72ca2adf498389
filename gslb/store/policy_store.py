"""Validated policy writes and a parsed mirror of the store: the layer between front ends and the store.

Front ends (CLI import, REST API) hand over parsed specs; this layer validates the whole resulting
state (scoped to the zones touched), then commits atomically against the revision it validated.
When another writer commits in between, the validation is simply redone on the new state: users
only ever see a conflict when the object they meant to change has changed (their `expected` revision).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gslb.policy import KINDS, PolicyError, PolicySet, Problem, doc_key, parse_document
from gslb.policy.bulk import gc_paused
from gslb.policy.validate import validate
from gslb.store.errors import InvalidRequestError, StaleRevisionError
from gslb.store.store import Store
from gslb.store.types import ChangeEntry, Delete, DocRef, Put, StoredDoc

log = logging.getLogger(__name__)

POLICY_KINDS = frozenset(KINDS)
MAX_REVALIDATIONS = 20


def spec_from_stored(doc: StoredDoc) -> Any:
    """Parse a stored body; data written by this code is valid, so a failure means a corrupted store."""
    return parse_document(doc.ref.kind, doc.body, doc=doc.ref.key)


@dataclass(frozen=True, slots=True)
class CorruptDocument:
    key: str
    error: str


class PolicyMirror:
    """A PolicySet kept up to date from the store: full load once, then only the changed documents."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.policy = PolicySet()
        self.revisions: dict[str, int] = {}
        self.corrupt: list[CorruptDocument] = []

    async def refresh(self) -> PolicySet:
        current = await self._store.revision()
        if current == self.policy.revision and self.revisions:
            return self.policy
        entries = await self._store.changes_since(self.policy.revision) if self.revisions else None
        if entries is None or any(entry.reload for entry in entries):
            await self.reload()
        else:
            self.apply_entries(entries)
        return self.policy

    async def reload(self) -> PolicySet:
        dump = await self._store.load_all()
        with gc_paused():
            self.load_docs(dump.docs.values(), revision=dump.rev)
        return self.policy

    def load_docs(self, docs: Iterable[StoredDoc], *, revision: int) -> None:
        specs: dict[str, Any] = {}
        revisions: dict[str, int] = {}
        self.corrupt = []
        for doc in docs:
            if doc.ref.kind not in POLICY_KINDS:
                continue
            try:
                specs[doc.ref.key] = spec_from_stored(doc)
            except PolicyError as exc:
                # Never take the node down for one bad document: serve the rest and say which one.
                self.corrupt.append(CorruptDocument(doc.ref.key, str(exc)))
                log.error("stored document %s does not validate and is ignored: %s", doc.ref.key, exc)
                continue
            revisions[doc.ref.key] = doc.rev
        self.policy = PolicySet(specs, revision)
        self.revisions = revisions

    def apply_entries(self, entries: Sequence[ChangeEntry]) -> set[str]:
        """Apply change-feed entries in order; returns the keys that changed."""
        docs = dict(self.policy.docs)
        changed: set[str] = set()
        revision = self.policy.revision
        for entry in entries:
            for change in entry.changes:
                if change.ref.kind not in POLICY_KINDS:
                    continue
                key = change.ref.key
                changed.add(key)
                if change.op == "delete" or change.body is None:
                    docs.pop(key, None)
                    self.revisions.pop(key, None)
                    continue
                try:
                    docs[key] = parse_document(change.ref.kind, change.body, doc=key)
                    self.revisions[key] = entry.rev
                except PolicyError as exc:
                    log.error(
                        "change %s at revision %d does not validate and is ignored: %s", key, entry.rev, exc
                    )
            revision = entry.rev
        self.policy = PolicySet(docs, revision)
        return changed


def affected_zones(policy: PolicySet, keys: Iterable[str], specs: Iterable[Any]) -> set[str]:
    """Zones whose record-level validation a change can affect."""
    zones: set[str] = set()
    for key in keys:
        kind, _, name = key.partition(":")
        if kind == "zone":
            zones.add(name)
        elif kind == "rrset":
            zones.add(name.split("/", 1)[0])
        elif kind in ("check", "tenant"):
            # Health checks are referenced from dynamic records; tenants own zones.
            tenant = name.split("/", 1)[0]
            zones.update(zone for zone, spec in policy.zones().items() if spec.tenant == tenant)
    for spec in specs:
        zone = getattr(spec, "zone", None)
        if isinstance(zone, str):
            zones.add(zone)
    return zones


class PolicyStore:
    """Validated, atomic policy changes on top of a Store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.mirror = PolicyMirror(store)

    async def current(self) -> PolicySet:
        return await self.mirror.refresh()

    async def apply(
        self,
        puts: Sequence[Any] = (),
        deletes: Sequence[str] = (),
        *,
        expected: Mapping[str, int] | None = None,
        actor: str | None = None,
        dry_run: bool = False,
        extra: Sequence[Put | Delete] = (),
    ) -> int:
        """Validate and commit; returns the new revision (or the current one for dry runs).

        `expected` maps doc keys to the revision the caller last saw (0 = must not exist); a mismatch
        raises ConflictError and writes nothing. Raises PolicyError listing every problem. `extra`
        are non-policy operations committed atomically with the change (the API's audit entries).
        """
        if any(op.ref.kind in POLICY_KINDS for op in extra):
            raise InvalidRequestError("extra operations must not be policy documents: those are validated")
        expected = dict(expected or {})
        put_keys = [doc_key(spec) for spec in puts]
        keys = [*put_keys, *deletes]
        if len(set(keys)) != len(keys):
            duplicates = sorted({key for key in keys if keys.count(key) > 1})
            raise PolicyError(
                [Problem(f"{key} appears more than once in one change", "", key) for key in duplicates]
            )
        if not keys:
            return (await self.mirror.refresh()).revision
        for attempt in range(MAX_REVALIDATIONS):
            current = await self.mirror.refresh()
            desired = current.with_changes(puts, deletes)
            zones = affected_zones(current, keys, puts)
            problems = validate(desired, zones=zones)
            if problems:
                # Refuse only what this change causes or touches: another tenant's existing mistake
                # (say, written by an older version) must not block everyone's writes.
                before = set(validate(current, zones=zones))
                touched = set(keys)
                problems = [p for p in problems if p not in before or p.doc in touched]
            if problems:
                raise PolicyError(problems)
            if dry_run:
                return current.revision
            ops: list[Put | Delete] = []
            for key, spec in zip(put_keys, puts, strict=True):
                tenant = desired.tenant_of(spec) or ""
                ops.append(Put(DocRef.parse(key), tenant, spec.to_body(), if_rev=expected.get(key)))
            ops.extend(Delete(DocRef.parse(key), if_rev=expected.get(key)) for key in deletes)
            ops.extend(extra)
            try:
                return await self.store.commit(ops, base_revision=current.revision, actor=actor)
            except StaleRevisionError:
                log.debug("revision moved during validation (attempt %d); validating again", attempt + 1)
        raise StaleRevisionError(current.revision, await self.store.revision())
