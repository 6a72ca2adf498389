"""Route matching and rewriting (pure): host exact/wildcard, path prefix/exact/regex, method, priority."""

from __future__ import annotations

import pytest

from gslb.policy import PolicyError, parse_document
from proxy.table import compile_table


def _route(name: str, **body: object) -> object:
    return parse_document("route", {"tenant": "acme", "name": name, "upstream": "web", **body})


POOL = parse_document(
    "upstream", {"tenant": "acme", "name": "web", "members": [{"address": "127.0.0.1", "port": 1}]}
)


def _table(*routes: object):  # type: ignore[no-untyped-def]
    return compile_table(routes, [POOL], {})  # type: ignore[arg-type]


def _match(table, host: str, path: str, method: bytes = b"GET") -> str | None:  # type: ignore[no-untyped-def]
    route = table.match(host, path, method)
    return None if route is None else route.spec.name


def test_exact_host_beats_wildcard_and_wildcard_covers_any_depth() -> None:
    table = _table(_route("exact", hosts=["www.example.com"]), _route("wild", hosts=["*.example.com"]))
    assert _match(table, "www.example.com", "/") == "exact"
    assert _match(table, "api.example.com", "/") == "wild"
    assert _match(table, "a.b.example.com", "/") == "wild"
    assert _match(table, "example.com", "/") is None  # the wildcard does not cover the apex
    assert _match(table, "other.org", "/") is None


def test_exact_host_falls_through_to_wildcard_when_no_path_matches() -> None:
    table = _table(
        _route("api", hosts=["www.example.com"], path="/api"), _route("wild", hosts=["*.example.com"])
    )
    assert _match(table, "www.example.com", "/api/v1") == "api"
    assert _match(table, "www.example.com", "/home") == "wild"


def test_path_kinds_and_order() -> None:
    table = _table(
        _route("root", hosts=["h.com"]),
        _route("api", hosts=["h.com"], path="/api"),
        _route("api-v2", hosts=["h.com"], path="/api/v2"),
        _route("health", hosts=["h.com"], path="/api/health", path_match="exact"),
        _route("img", hosts=["h.com"], path=r"/img/\d+$", path_match="regex"),
    )
    assert _match(table, "h.com", "/api/health") == "health"
    assert _match(table, "h.com", "/api/health/x") == "api"
    assert _match(table, "h.com", "/api/v2/users") == "api-v2"
    assert _match(table, "h.com", "/api") == "api"
    assert _match(table, "h.com", "/apix") == "root"  # a prefix matches whole segments only
    assert _match(table, "h.com", "/img/42") == "img"
    assert _match(table, "h.com", "/img/x") == "root"


def test_methods_and_priority() -> None:
    table = _table(
        _route("read", hosts=["h.com"], path="/items", methods=["GET", "HEAD"]),
        _route("write", hosts=["h.com"], path="/items", methods=["POST"]),
        _route("boosted", hosts=["h.com"], path="/", priority=10, methods=["DELETE"]),
    )
    assert _match(table, "h.com", "/items", b"GET") == "read"
    assert _match(table, "h.com", "/items", b"POST") == "write"
    assert _match(table, "h.com", "/items", b"DELETE") == "boosted"
    assert _match(table, "h.com", "/items", b"PUT") is None


def test_path_rewrites() -> None:
    table = _table(
        _route("prefix", hosts=["a.com"], path="/api", rewrite_path="/v1"),
        _route("slash", hosts=["b.com"], path="/api/", rewrite_path="/"),
        _route("exact", hosts=["c.com"], path="/old", path_match="exact", rewrite_path="/new"),
        _route("regex", hosts=["d.com"], path=r"/u/(\d+)/x$", path_match="regex", rewrite_path=r"/users/\1"),
    )
    assert table.match("a.com", "/api/items", b"GET").rewrite("/api/items") == "/v1/items"  # type: ignore[union-attr]
    assert table.match("b.com", "/api/items", b"GET").rewrite("/api/items") == "/items"  # type: ignore[union-attr]
    assert table.match("c.com", "/old", b"GET").rewrite("/old") == "/new"  # type: ignore[union-attr]
    assert table.match("d.com", "/u/7/x", b"GET").rewrite("/u/7/x") == "/users/7"  # type: ignore[union-attr]


def test_route_without_pool_is_left_out_and_health_is_compiled() -> None:
    check_pool = parse_document(
        "upstream",
        {
            "tenant": "acme",
            "name": "web",
            "members": [
                {"address": "127.0.0.1", "port": 1, "health_check": "hc"},
                {"address": "127.0.0.2", "port": 1, "health_check": "hc"},
            ],
        },
    )
    orphan = parse_document("route", {"tenant": "acme", "name": "o", "hosts": ["x.com"], "upstream": "nope"})
    table = compile_table([orphan], [check_pool], {"acme/hc/127.0.0.2": False})  # type: ignore[list-item]
    assert table.match("x.com", "/", b"GET") is None
    assert [m.healthy for m in table.pools["acme/web"].members] == [True, False]


def test_new_fields_are_validated_with_reasons() -> None:
    with pytest.raises(PolicyError, match="rewrite_path must start with '/'"):
        _route("bad", hosts=["h.com"], rewrite_path="v1")
    with pytest.raises(PolicyError, match="invalid group reference"):
        _route("bad", hosts=["h.com"], path="/(a)$", path_match="regex", rewrite_path=r"/\2")
    with pytest.raises(PolicyError, match="request_headers"):
        _route("bad", hosts=["h.com"], request_headers={"set": {"Bad Name": "x"}})
    # Documents written before these fields existed still parse, with the defaults.
    old = _route("old", hosts=["h.com"])
    assert old.timeouts.connect == 5.0 and old.retries.attempts == 2 and old.rate_limit is None  # type: ignore[attr-defined]
