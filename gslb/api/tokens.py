"""Bearer tokens: generated here, shown once, stored only as a hash; looked up on every request.

A token reads `gslb_<id>_<secret>`. The id names its store document (`token:<id>`), so checking a
token is one read and revoking it (deleting the document) takes effect on the next request of every
API server. The secret has 256 bits of entropy, so a plain SHA-256 is enough (no slow KDF needed:
there is nothing to brute-force). Token documents have no tenant in the store: tenant endpoints never
list them, and their hashes never leave this module.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gslb.api.rbac import Principal, Role
from gslb.store import ConflictError, Delete, DocRef, Put, Store

TOKEN_KIND = "token"
BOOTSTRAP_ID = "bootstrap"
_TOKEN = re.compile(r"^gslb_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_BOOTSTRAP = re.compile(r"^[A-Za-z0-9_.~+/=-]{32,256}$")


def hash_secret(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_token_text() -> tuple[str, str]:
    """(id, full token text)."""
    token_id = secrets.token_hex(8)
    return token_id, f"gslb_{token_id}_{secrets.token_urlsafe(32)}"


def token_id_of(text: str) -> str | None:
    """The id a presented token claims; None when it cannot be one of ours."""
    match = _TOKEN.match(text)
    if match:
        return match.group(1)
    return BOOTSTRAP_ID if _BOOTSTRAP.match(text) else None


def check_bootstrap_text(text: str) -> str:
    """Why `text` cannot be a bootstrap token; "" when it can."""
    if _TOKEN.match(text) or _BOOTSTRAP.match(text):
        return ""
    return (
        "a bootstrap token must be 32-256 characters of letters, digits and _.~+/=- "
        "(try: openssl rand -hex 32)"
    )


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    role: Role
    tenant: str | None
    zones: tuple[str, ...] | None = None
    read_only: bool = False
    description: str = ""
    created_at: float = 0.0
    created_by: str | None = None
    secret_hash: str = field(default="", repr=False)

    def principal(self) -> Principal:
        return Principal(
            self.id,
            self.role,
            self.tenant,
            frozenset(self.zones) if self.zones is not None else None,
            self.read_only,
        )

    def to_body(self) -> dict[str, Any]:
        return {**self.public_json(), "hash": self.secret_hash}

    def public_json(self) -> dict[str, Any]:
        """What the API shows about a token: never its hash."""
        return {
            "id": self.id,
            "role": self.role.value,
            "tenant": self.tenant,
            "zones": list(self.zones) if self.zones is not None else None,
            "read_only": self.read_only,
            "description": self.description,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }

    @classmethod
    def from_body(cls, token_id: str, body: dict[str, Any]) -> TokenRecord:
        zones = body.get("zones")
        return cls(
            id=token_id,
            role=Role(body["role"]),
            tenant=body.get("tenant"),
            zones=tuple(zones) if zones is not None else None,
            read_only=bool(body.get("read_only", False)),
            description=str(body.get("description", "")),
            created_at=float(body.get("created_at", 0.0)),
            created_by=body.get("created_by"),
            secret_hash=str(body["hash"]),
        )


def token_ref(token_id: str) -> DocRef:
    return DocRef(TOKEN_KIND, token_id)


def new_record(
    *,
    role: Role,
    tenant: str | None,
    zones: Sequence[str] | None,
    read_only: bool,
    description: str,
    created_by: str | None,
    text: str | None = None,
) -> tuple[TokenRecord, str]:
    """A new token record and its text (shown to the user once, never stored)."""
    if text is None:
        token_id, text = new_token_text()
    else:
        token_id = token_id_of(text) or BOOTSTRAP_ID
    record = TokenRecord(
        id=token_id,
        role=role,
        tenant=tenant,
        zones=tuple(zones) if zones is not None else None,
        read_only=read_only,
        description=description,
        created_at=time.time(),
        created_by=created_by,
        secret_hash=hash_secret(text),
    )
    return record, text


def put_op(record: TokenRecord) -> Put:
    return Put(token_ref(record.id), "", record.to_body(), if_rev=0)


def delete_op(token_id: str, rev: int) -> Delete:
    return Delete(token_ref(token_id), if_rev=rev)


async def authenticate(store: Store, text: str) -> TokenRecord | None:
    """The record of a presented token, or None (unknown, revoked, or wrong secret)."""
    token_id = token_id_of(text)
    if token_id is None:
        return None
    doc = await store.get(token_ref(token_id))
    if doc is None:
        return None
    try:
        record = TokenRecord.from_body(token_id, doc.body)
    except (KeyError, ValueError, TypeError):
        return None  # a damaged token document authenticates nobody
    return record if hmac.compare_digest(record.secret_hash, hash_secret(text)) else None


async def get_record(store: Store, token_id: str) -> tuple[TokenRecord, int] | None:
    if not re.fullmatch(r"[0-9a-f]{16}|bootstrap", token_id):
        return None
    doc = await store.get(token_ref(token_id))
    if doc is None:
        return None
    return TokenRecord.from_body(token_id, doc.body), doc.rev


async def list_records(store: Store) -> list[TokenRecord]:
    records = []
    for doc in await store.list(kind=TOKEN_KIND):
        try:
            records.append(TokenRecord.from_body(doc.ref.name, doc.body))
        except (KeyError, ValueError, TypeError):
            continue
    return records


async def ensure_bootstrap(store: Store, text: str, *, actor: str) -> bool:
    """Create the bootstrap admin token when the store has no token at all; True when created.

    Only on first start: once any token exists the bootstrap setting is ignored, so a leaked
    environment variable cannot resurrect a token an operator revoked.
    """
    if await store.list_keys(kind=TOKEN_KIND):
        return False
    record, _ = new_record(
        role=Role.ADMIN,
        tenant=None,
        zones=None,
        read_only=False,
        description="bootstrap admin token",
        created_by=actor,
        text=text,
    )
    try:
        await store.commit([put_op(record)], actor=actor)
    except ConflictError:
        return False  # another API server bootstrapped at the same moment
    return True
