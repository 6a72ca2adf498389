"""Field-level differences between two stored bodies, for a plan a human reads before applying it."""

from __future__ import annotations

import json
from typing import Any

from gslb.policy.problems import escape_pointer_token


class _Default:
    """A field absent from a body: stored bodies omit defaults, so absent means 'the default'."""

    def __repr__(self) -> str:
        return "(default)"


DEFAULT = _Default()


def field_changes(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(JSON pointer, old, new) for every leaf that differs; lists of equal length are compared item
    by item so one changed pool member shows as one line, not as the whole list."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in [*old, *(key for key in new if key not in old)]:
            token = f"{path}/{escape_pointer_token(key)}"
            changes += field_changes(old.get(key, DEFAULT), new.get(key, DEFAULT), token)
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        changes = []
        for index, (left, right) in enumerate(zip(old, new, strict=True)):
            changes += field_changes(left, right, f"{path}/{index}")
        return changes
    if old == new and type(old) is type(new):
        return []
    return [(path or "/", old, new)]


def show(value: Any) -> str:
    if value is DEFAULT:
        return "(default)"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
