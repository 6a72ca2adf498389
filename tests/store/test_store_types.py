"""The store's value types, key names and error messages."""

from __future__ import annotations

import pytest

from gslb.store import (
    Change,
    ChangeEntry,
    ConflictError,
    Delete,
    DocRef,
    InvalidRequestError,
    KeyConflict,
    KeySpace,
    Put,
    StaleRevisionError,
    StoreError,
    redact_url,
)
from gslb.store.store import decode_stream_entry, dumps, envelope_bytes


def test_doc_ref_key_and_parse() -> None:
    ref = DocRef("rrset", "acme/example.com./www/A")
    assert ref.key == "rrset:acme/example.com./www/A"
    assert DocRef.parse(ref.key) == ref
    assert DocRef.parse("zone:a:b") == DocRef("zone", "a:b")  # only the first colon separates


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("Zone", "x", "lowercase word"),
        ("1zone", "x", "lowercase word"),
        ("zo-ne", "x", "lowercase word"),
        ("z" * 65, "x", "lowercase word"),
        ("zone", "", "must not be empty"),
        ("zone", "a\nb", "one line"),
        ("zone", "a\x00b", "no NUL"),
        ("zone", "é" * 600, "longer than 1024 bytes"),
    ],
)
def test_doc_ref_validation(kind: str, name: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as excinfo:
        DocRef(kind, name)
    assert isinstance(excinfo.value, StoreError) and isinstance(excinfo.value, ValueError)


def test_parse_refuses_keys_without_kind() -> None:
    with pytest.raises(InvalidRequestError, match="kind:name"):
        DocRef.parse("no-colon")


def test_ops_validate_their_arguments() -> None:
    ref = DocRef("zone", "a.")
    with pytest.raises(InvalidRequestError, match="if_rev"):
        Put(ref, "acme", {}, if_rev=-1)
    with pytest.raises(InvalidRequestError, match="if_rev"):
        Delete(ref, if_rev=True)
    with pytest.raises(InvalidRequestError, match="JSON object"):
        Put(ref, "acme", ["not", "an", "object"])  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="tenant"):
        Put(ref, "ac\nme", {})
    assert Put(ref, "", {}).tenant == ""  # global documents have no tenant


def test_change_entry_round_trips_through_json() -> None:
    entry = ChangeEntry(
        7,
        1.5,
        "alice",
        (
            Change("put", DocRef("zone", "a."), "acme", {"x": [1, 2]}),
            Change("delete", DocRef("rrset", "b"), "t", None),
        ),
        commit_id="c7",
        parent_id="c6",
    )
    assert ChangeEntry.from_json(entry.to_json()) == entry
    marker = entry.as_reload_marker()
    assert marker.reload and marker.changes == () and marker.commit_id == "c7" and marker.parent_id == "c6"
    assert ChangeEntry.from_json(marker.to_json()) == marker


def test_unreadable_stream_entries_become_reload_markers() -> None:
    good = ChangeEntry(3, 1.0, None, (Change("delete", DocRef("zone", "a."), "", None),))
    assert decode_stream_entry(b"3-0", {b"entry": dumps(good.to_json())}) == good
    for fields in (
        {b"entry": b"{not json"},
        {b"other": b"x"},
        {b"entry": dumps({**good.to_json(), "rev": 4})},
    ):
        entry = decode_stream_entry(b"3-0", fields)
        assert entry.rev == 3 and entry.reload and entry.changes == ()


def test_envelope_bytes_equal_stable_json() -> None:
    body = {"b": [1, {"z": None, "a": "é"}], "a": True}
    assert envelope_bytes(dumps(body), 12, dumps('ac"me')) == dumps(
        {"rev": 12, "tenant": 'ac"me', "body": body}
    )
    with pytest.raises(ValueError):
        dumps({"x": float("inf")})


def test_key_space_names_every_key_under_its_prefix() -> None:
    keys = KeySpace("install-1")
    names = [
        keys.revision(),
        keys.head_commit(),
        keys.docs(),
        keys.tenant_index("acme"),
        keys.kind_index("zone"),
        keys.changes(),
        keys.health_votes("acme/web/192.0.2.1:443"),
    ]
    assert all(name.startswith("install-1:") for name in names) and len(set(names)) == len(names)
    assert KeySpace().docs() == "gslb:docs"
    with pytest.raises(InvalidRequestError, match="prefix"):
        KeySpace("has space")


def test_conflict_messages_say_what_to_do() -> None:
    error = ConflictError([KeyConflict("zone:a.", 0, 3), KeyConflict("zone:b.", 2, 0)])
    assert str(error) == (
        "conflict, nothing written: zone:a.: expected absent, but it is at revision 3; "
        "zone:b.: expected revision 2, but it is absent. Reload and retry."
    )
    stale = StaleRevisionError(4, 6)
    assert isinstance(stale, ConflictError) and stale.conflicts == ()
    assert "moved from revision 4 to 6" in str(stale) and "Reload and retry" in str(stale)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@db:6379/0", "redis://***@db:6379/0"),
        ("rediss://user:s3c@ret@db:6380/1", "rediss://user:***@db:6380/1"),
        ("redis://user@db", "redis://user:***@db"),
    ],
)
def test_redact_url_hides_passwords(url: str, shown: str) -> None:
    assert redact_url(url) == shown
