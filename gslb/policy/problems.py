"""Validation problems: every reason a document is refused, each with where it came from.

A `Problem` names the document (its store key, e.g. "rrset:example.com./www/A") and a JSON pointer
inside it. Front ends translate that location: the API into a pointer into the request body, the
YAML importer into file:line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class Problem:
    message: str
    pointer: str = ""
    doc: str | None = None

    def __str__(self) -> str:
        where = f"{self.doc or ''}{self.pointer}"
        return f"{where}: {self.message}" if where else self.message


class PolicyError(ValueError):
    """Documents that cannot be accepted; `problems` lists every reason, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{len(self.problems)} problem(s):\n{lines}")


def escape_pointer_token(token: object) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: object) -> str:
    return "".join("/" + escape_pointer_token(token) for token in tokens)


def join_pointer(base: str, *tokens: object) -> str:
    return base + pointer(*tokens)


def problems_from_validation_error(
    exc: ValidationError, *, doc: str | None = None, base: str = "", model_fields: Iterable[str] = ()
) -> list[Problem]:
    """Turn pydantic's errors into Problems with JSON pointers and messages that say what to fix."""
    allowed = sorted(model_fields)
    problems = []
    errors = exc.errors(include_url=False)
    locations = [tuple(token for token in error["loc"] if not _is_union_tag(token)) for error in errors]
    seen: set[tuple[tuple[object, ...], str]] = set()
    for error, loc in zip(errors, locations, strict=True):
        location = list(loc)
        raw = error["loc"]
        if error["type"] == "extra_forbidden" and raw and (not location or location[-1] != raw[-1]):
            location.append(raw[-1])  # the unknown key itself may look like a union tag ("a[b")
        if error["type"] == "too_short" and any(
            other[: len(loc)] == loc and len(other) > len(loc) for other in locations
        ):
            continue  # pydantic also reports the container as too short when an item failed
        if (loc, error["msg"]) in seen:
            continue
        seen.add((loc, error["msg"]))
        message = error["msg"]
        kind = error["type"]
        if kind == "extra_forbidden":
            hint = f" (known fields here: {', '.join(allowed)})" if allowed and len(location) == 1 else ""
            message = f"unknown field {location[-1]!r}{hint}; remove it or fix its spelling"
        elif kind == "missing":
            message = f"required field {location[-1]!r} is missing" if location else "required field missing"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        elif kind.startswith(("ip_v4", "ip_v6", "ip_any")):
            message = f"{error.get('input')!r}: {message.lower()}"
        problems.append(Problem(message, join_pointer(base, *location), doc))
    return problems


def _is_union_tag(token: object) -> bool:
    # pydantic inserts the chosen member of smart unions as a path token, e.g. "function-after[...]"
    # or a class name; they are not part of the document.
    return isinstance(token, str) and (
        "[" in token or token in {"IPv4Network", "IPv6Network", "IPv4Address", "IPv6Address"}
    )
