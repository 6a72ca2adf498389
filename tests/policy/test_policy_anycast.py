"""Anycast specs: everything that ends up in an ExaBGP line is refused at validation when wrong."""

from __future__ import annotations

from typing import Any

import pytest

from gslb.policy import PolicyError, PolicySet, parse_document, validate


def problems(body: dict[str, Any]) -> list[str]:
    with pytest.raises(PolicyError) as excinfo:
        parse_document(
            "anycast", {"tenant": "acme", "name": "dns", "service": "dns", **body}, doc="anycast:x"
        )
    return [str(problem) for problem in excinfo.value.problems]


def communities(*values: Any) -> dict[str, Any]:
    return {"prefix": "192.0.2.53/32", "states": {"draining": {"communities": list(values)}}}


def test_prefix_must_be_a_host_route_unless_told_otherwise() -> None:
    (message,) = problems({"prefix": "192.0.2.0/24"})
    assert "prefix 192.0.2.0/24 is not a host route (/32)" in message and "host_route: false" in message
    (message,) = problems({"prefix": "2001:db8::/64"})
    assert "is not a host route (/128)" in message
    spec = parse_document(
        "anycast",
        {"tenant": "a", "name": "b", "service": "dns", "prefix": "192.0.2.0/24", "host_route": False},
    )
    assert str(spec.prefix) == "192.0.2.0/24"


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("0.0.0.0/0", "is a default route"),
        ("::/0", "is a default route"),
        ("224.0.0.1/32", "not a unicast service prefix"),
        ("127.0.0.1/32", "not a unicast service prefix"),
        ("0.0.0.0/32", "not a unicast service prefix"),
        ("192.0.2.1/24", "has host bits set; did you mean 192.0.2.0/24?"),
        ("192.0.2.53/32\nannounce route 0.0.0.0/0", "is not an IPv4 or IPv6 network"),
    ],
)
def test_prefixes_that_must_never_be_announced(prefix: str, expected: str) -> None:
    assert any(expected in message for message in problems({"prefix": prefix, "host_route": False}))


@pytest.mark.parametrize(
    ("next_hop", "expected"),
    [
        ("2001:db8::1", "next_hop 2001:db8::1 is IPv6 but prefix is IPv4"),
        ("0.0.0.0", "cannot forward traffic"),
        ("127.0.0.1", "cannot forward traffic"),
        ("224.0.0.5", "cannot forward traffic"),
        ("self\n", "is not an IPv4 or IPv6 address"),
        ("next-hop", "is not an IPv4 or IPv6 address"),
    ],
)
def test_next_hop_must_be_a_unicast_address_of_the_prefix_family(next_hop: str, expected: str) -> None:
    found = problems({"prefix": "192.0.2.53/32", "next_hop": next_hop})
    assert any(expected in message for message in found), found


@pytest.mark.parametrize(
    "community",
    [
        "65000:1\n",  # `$` in a regex would accept the trailing newline
        "65000:1\nannounce route 0.0.0.0/0 next-hop self",
        "65000:\u0661",  # a non-ASCII digit, which int() would happily read
        "65536:1",
        "1:2:4294967296",
        "no_export",
        "65000",
        " 65000:1",
        "65000:1 65000:2",
        "[65000:1]",
        "",
    ],
)
def test_invalid_community_strings_are_refused(community: str) -> None:
    (message,) = problems(communities(community))
    assert "is not a BGP community" in message and "ASN:VALUE" in message


def test_non_string_community_is_refused() -> None:
    (message,) = problems(communities(65000))
    assert "states/draining/communities/0" in message


def test_communities_are_stored_canonical() -> None:
    spec = parse_document(
        "anycast",
        {
            "tenant": "a",
            "name": "b",
            "service": "dns",
            **communities("65000:007", "01:2:3", "graceful-shutdown"),
        },
    )
    assert spec.states.draining.communities == ("65000:7", "1:2:3", "graceful-shutdown")


@pytest.mark.parametrize("field", ["tenant", "name"])
def test_names_with_a_newline_are_refused(field: str) -> None:
    found = problems({"prefix": "192.0.2.53/32", field: "acme\n"})
    assert any("is not a valid name" in message for message in found), found


def test_service_and_vip_must_agree() -> None:
    (message,) = problems({"prefix": "192.0.2.53/32", "service": "vip"})
    assert "service 'vip' needs 'vip'" in message
    (message,) = problems({"prefix": "192.0.2.53/32", "vip": "web"})
    assert "'vip' applies to service 'vip' only" in message


def test_vip_prefix_must_cover_the_vip_address() -> None:
    docs = [
        ("tenant", {"name": "acme"}),
        (
            "vip",
            {
                "tenant": "acme",
                "name": "web",
                "address": "192.0.2.80",
                "port": 80,
                "reals": [{"address": "10.0.0.1"}],
            },
        ),
        (
            "anycast",
            {"tenant": "acme", "name": "web", "prefix": "192.0.2.81/32", "service": "vip", "vip": "web"},
        ),
        (
            "anycast",
            {
                "tenant": "acme",
                "name": "ok",
                "prefix": "192.0.2.0/24",
                "host_route": False,
                "service": "vip",
                "vip": "web",
            },
        ),
    ]
    found = [
        str(problem) for problem in validate(PolicySet.from_specs(parse_document(k, b) for k, b in docs))
    ]
    assert found == [
        "anycast:acme/web/prefix: prefix 192.0.2.81/32 does not contain the address 192.0.2.80 of VIP 'web'"
    ]
