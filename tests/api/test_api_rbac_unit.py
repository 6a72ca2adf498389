"""Pure units: role decisions down the tenant tree, token grants, the rate limiter, token texts."""

from __future__ import annotations

import pytest

from gslb.api.ratelimit import RateLimiter, retry_after_header
from gslb.api.rbac import Action, Decision, Principal, Role, decide, may_grant, subtree, visible_tenants
from gslb.api.tokens import check_bootstrap_text, hash_secret, new_token_text, token_id_of

PARENTS = {"root": None, "a": "root", "a1": "a", "a2": "a", "b": "root", "loop1": "loop2", "loop2": "loop1"}


def test_subtree_and_visibility() -> None:
    assert subtree(PARENTS, "a") == {"a", "a1", "a2"}
    assert subtree(PARENTS, "missing") == frozenset()
    assert subtree(PARENTS, "loop1") == {"loop1", "loop2"}  # a loop (refused by validation) terminates
    admin = Principal("t", Role.ADMIN, None)
    assert visible_tenants(admin, PARENTS) == set(PARENTS)
    assert visible_tenants(Principal("t", Role.VIEWER, "a1"), PARENTS) == {"a1"}


@pytest.mark.parametrize(
    ("role", "action", "tenant", "expected"),
    [
        (Role.VIEWER, Action.READ, "a1", Decision.ALLOW),
        (Role.VIEWER, Action.WRITE, "a1", Decision.FORBIDDEN),
        (Role.EDITOR, Action.WRITE, "a2", Decision.ALLOW),
        (Role.EDITOR, Action.MANAGE, "a", Decision.FORBIDDEN),
        (Role.OWNER, Action.MANAGE, "a1", Decision.ALLOW),
        (Role.OWNER, Action.READ, "b", Decision.HIDDEN),
        (Role.OWNER, Action.READ, "root", Decision.HIDDEN),
        (Role.EDITOR, Action.WRITE, "nonexistent", Decision.HIDDEN),
    ],
)
def test_decisions(role: Role, action: Action, tenant: str, expected: Decision) -> None:
    assert decide(Principal("t", role, "a"), action, tenant, PARENTS)[0] is expected


def test_zone_limited_and_read_only_tokens() -> None:
    limited = Principal("t", Role.EDITOR, "a", zones=frozenset({"one.test."}))
    assert decide(limited, Action.WRITE, "a", PARENTS, zone="one.test.")[0] is Decision.ALLOW
    assert decide(limited, Action.WRITE, "a", PARENTS, zone="two.test.")[0] is Decision.FORBIDDEN
    assert decide(limited, Action.READ, "a", PARENTS, zone="two.test.")[0] is Decision.FORBIDDEN
    assert decide(limited, Action.WRITE, "a", PARENTS)[0] is Decision.FORBIDDEN  # tenant-level object
    assert decide(limited, Action.READ, "a", PARENTS)[0] is Decision.ALLOW
    frozen = Principal("t", Role.OWNER, "a", read_only=True)
    assert decide(frozen, Action.WRITE, "a1", PARENTS)[0] is Decision.FORBIDDEN


def test_grants_never_exceed_the_granter() -> None:
    owner = Principal("t", Role.OWNER, "a")
    assert may_grant(owner, Role.OWNER, "a1", PARENTS) == ""
    assert may_grant(owner, Role.VIEWER, "a", PARENTS) == ""
    assert "only an admin" in may_grant(owner, Role.ADMIN, None, PARENTS)
    assert "does not exist" in may_grant(owner, Role.VIEWER, "b", PARENTS)
    assert "needs a tenant" in may_grant(owner, Role.VIEWER, None, PARENTS)
    assert may_grant(Principal("t", Role.EDITOR, "a"), Role.VIEWER, "a", PARENTS)
    assert may_grant(Principal("t", Role.OWNER, "a", zones=frozenset({"x."})), Role.VIEWER, "a", PARENTS)
    assert may_grant(Principal("t", Role.ADMIN, None), Role.ADMIN, None, PARENTS) == ""


def test_rate_limiter_refills_and_is_bounded() -> None:
    limiter = RateLimiter(rate=2.0, burst=2, max_keys=3)
    assert [limiter.acquire("x", 0.0) for _ in range(2)] == [0.0, 0.0]
    assert limiter.acquire("x", 0.0) == pytest.approx(0.5)
    assert limiter.acquire("x", 0.5) == 0.0  # one token back after 0.5 s at 2/s
    assert limiter.acquire("y", 0.5) == 0.0  # buckets are per key
    for key in ("p", "q", "r"):
        limiter.acquire(key, 1.0)
    assert "x" not in limiter._buckets and len(limiter._buckets) == 3
    assert retry_after_header(0.01) == "1" and retry_after_header(2.2) == "3"
    with pytest.raises(ValueError):
        RateLimiter(rate=0, burst=1)


def test_token_texts() -> None:
    token_id, text = new_token_text()
    assert token_id_of(text) == token_id and len(text) == len("gslb_") + 16 + 1 + 43
    assert token_id_of("short") is None and token_id_of("x" * 40) == "bootstrap"
    assert check_bootstrap_text("a b c") and check_bootstrap_text("k" * 32) == ""
    assert hash_secret(text) != hash_secret(text + "x") and len(hash_secret(text)) == 64
