"""The human-readable API page (/v1/docs): rendered from the OpenAPI document, no JavaScript, no CDN."""

from __future__ import annotations

import html
from functools import cache
from typing import Any

from gslb.api.openapi import openapi_document
from gslb.api.problems import STATUS_TITLES

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.m{font-weight:bold;width:5rem}
"""

_INTRO = """
<p>Every request carries <code>Authorization: Bearer TOKEN</code>. Tokens have a role on a tenant
(<b>owner</b>, <b>editor</b>, <b>viewer</b>; or <b>admin</b> of the platform), inherited by sub-tenants,
optionally limited to some zones or to reading. Other tenants' objects are invisible: the API answers
404 as for names that do not exist.</p>
<p>Every object has a revision, sent as its <code>ETag</code>. Replacing or deleting it needs
<code>If-Match</code> with that ETag; if the object changed meanwhile the answer is 412 and nothing is
written. Add <code>?dry_run=true</code> to any change to see its plan without applying it; a change
that deletes or rewrites more than 30% of a zone (of 10 or more record sets), or deletes a zone,
needs <code>?force=true</code>. Lists are paged with <code>limit</code> (at most 1000) and the
<code>next</code> cursor. Bodies are JSON objects of at most the configured size (1 MiB by default).</p>
<p>The machine-readable description is <a href="/v1/openapi.json">/v1/openapi.json</a> (OpenAPI 3.1).</p>
"""


def _schema_name(operation: dict[str, Any]) -> str:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else ""


@cache
def docs_html() -> str:
    document = openapi_document()
    by_tag: dict[str, list[str]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            params = ", ".join(
                f"<code>{html.escape(p['name'])}</code>" for p in operation["parameters"] if p["in"] != "path"
            )
            body = _schema_name(operation)
            row = (
                f"<tr><td class=m>{method.upper()}</td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(operation['summary'])}</td><td>{params}</td>"
                f"<td>{html.escape(body)}</td></tr>"
            )
            by_tag.setdefault(operation["tags"][0], []).append(row)
    sections = []
    for tag, rows in by_tag.items():
        sections.append(
            f"<h2>{html.escape(tag)}</h2><table><tr><th>method</th><th>path</th><th>what</th>"
            f"<th>parameters</th><th>body schema</th></tr>{''.join(rows)}</table>"
        )
    kinds: list[tuple[int, str, str]] = [
        (status, slug, title) for status, (slug, title) in sorted(STATUS_TITLES.items())
    ]
    kinds += [
        (409, "exists", "already exists"),
        (409, "name-taken", "another tenant owns the name"),
        (409, "force-required", "add force=true"),
        (409, "not-empty", "delete the contents first"),
    ]
    problems = "".join(
        f"<tr id=problem-{slug}><td>{status}</td><td><code>{slug}</code></td>"
        f"<td>{html.escape(title)}</td></tr>"
        for status, slug, title in kinds
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>gslb policy API</title>"
        f"<style>{_STYLE}</style></head><body><h1>gslb policy API v1</h1>{_INTRO}{''.join(sections)}"
        "<h2>Errors</h2><p>Errors are RFC 9457 problem documents (<code>application/problem+json</code>); "
        "<code>errors</code> lists every reason, each with a JSON <code>pointer</code> into the body, or "
        "the query <code>parameter</code> or <code>header</code> at fault.</p>"
        f"<table><tr><th>status</th><th>type</th><th>meaning</th></tr>{problems}</table></body></html>"
    )
