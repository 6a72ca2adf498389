"""The policy store: JSON documents in Redis or embedded, a global revision, atomic commits, a change feed."""

from gslb.store.embedded import EmbeddedStore, open_embedded
from gslb.store.errors import (
    ConflictError,
    EmbeddedStoreError,
    KeyConflict,
    StaleRevisionError,
    StoreError,
    StoreUnavailableError,
)
from gslb.store.factory import open_store
from gslb.store.follower import Follower
from gslb.store.keys import KeySpace
from gslb.store.policy_store import PolicyMirror, PolicyStore
from gslb.store.store import Store
from gslb.store.types import Change, ChangeEntry, Delete, DocRef, Put, StateDump, StoredDoc

__all__ = [
    "Change",
    "ChangeEntry",
    "ConflictError",
    "Delete",
    "DocRef",
    "EmbeddedStore",
    "EmbeddedStoreError",
    "Follower",
    "KeyConflict",
    "KeySpace",
    "PolicyMirror",
    "PolicyStore",
    "Put",
    "StaleRevisionError",
    "StateDump",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "StoredDoc",
    "open_embedded",
    "open_store",
]
