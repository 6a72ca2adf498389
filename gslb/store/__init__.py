"""The document store: JSON documents in Redis or embedded, one global revision, atomic commits, a feed."""

from gslb.store.embedded import EmbeddedStore, open_embedded
from gslb.store.errors import (
    ConflictError,
    EmbeddedStoreError,
    InvalidRequestError,
    KeyConflict,
    StaleRevisionError,
    StoreError,
    StoreUnavailableError,
)
from gslb.store.factory import open_store, redact_url
from gslb.store.follower import Follower, Listener
from gslb.store.keys import KeySpace
from gslb.store.policy_store import PolicyMirror, PolicyStore
from gslb.store.store import Store
from gslb.store.types import Change, ChangeEntry, Delete, DocRef, Head, Op, Put, StateDump, StoredDoc

__all__ = [
    "Change",
    "ChangeEntry",
    "ConflictError",
    "Delete",
    "DocRef",
    "EmbeddedStore",
    "EmbeddedStoreError",
    "Follower",
    "Head",
    "InvalidRequestError",
    "KeyConflict",
    "KeySpace",
    "Listener",
    "Op",
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
    "redact_url",
]
