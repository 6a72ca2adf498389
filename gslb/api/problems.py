"""Problem documents (RFC 9457): every error the API returns, with every reason and where it was found.

Handlers raise `ApiProblem`; the error middleware renders it. Validation problems of the policy
layer carry a JSON pointer into the document; `from_policy_problems` re-bases them onto the request
body, so a client can highlight the exact field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Problem types are URIs; ours point at the section of the human-readable API page explaining them.
TYPE_BASE = "/v1/docs#problem-"


@dataclass(frozen=True, slots=True)
class ErrorItem:
    """One reason: `pointer` into the JSON body, or the query `parameter` / `header` at fault."""

    detail: str
    pointer: str | None = None
    parameter: str | None = None
    header: str | None = None

    def to_json(self) -> dict[str, str]:
        item = {"detail": self.detail}
        for name in ("pointer", "parameter", "header"):
            value = getattr(self, name)
            if value is not None:
                item[name] = value
        return item


@dataclass
class ApiProblem(Exception):
    status: int
    slug: str  # short machine-readable kind: "validation", "not-found", "precondition-failed" ...
    title: str
    detail: str
    errors: Sequence[ErrorItem] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"

    def to_json(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [item.to_json() for item in self.errors]
        body.update(self.extra)
        return body


def bad_request(detail: str, errors: Iterable[ErrorItem] = ()) -> ApiProblem:
    return ApiProblem(400, "bad-request", "Bad request", detail, tuple(errors))


def invalid(detail: str, errors: Iterable[ErrorItem]) -> ApiProblem:
    return ApiProblem(422, "validation", "Invalid content", detail, tuple(errors))


def not_found(detail: str) -> ApiProblem:
    return ApiProblem(404, "not-found", "Not found", detail)


def forbidden(detail: str) -> ApiProblem:
    return ApiProblem(403, "forbidden", "Forbidden", detail)


def conflict(detail: str, slug: str = "conflict", errors: Iterable[ErrorItem] = ()) -> ApiProblem:
    return ApiProblem(409, slug, "Conflict", detail, tuple(errors))


def precondition_failed(detail: str, errors: Iterable[ErrorItem] = ()) -> ApiProblem:
    return ApiProblem(412, "precondition-failed", "Precondition failed", detail, tuple(errors))


def precondition_required(detail: str, errors: Iterable[ErrorItem] = ()) -> ApiProblem:
    return ApiProblem(428, "precondition-required", "Precondition required", detail, tuple(errors))


def unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(
        401,
        "unauthorized",
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="gslb"'},
    )


STATUS_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "Invalid content"),
    428: ("precondition-required", "Precondition required"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


def from_status(status: int, detail: str, headers: Mapping[str, str] | None = None) -> ApiProblem:
    slug, title = STATUS_TITLES.get(status, ("error", "Error"))
    return ApiProblem(status, slug, title, detail, headers=dict(headers or {}))
