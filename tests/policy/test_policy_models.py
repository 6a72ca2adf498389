"""Single-document validation: structure, types and messages that say what to fix."""

from __future__ import annotations

import pytest

from gslb.policy import PolicyError, parse_document


def problems(kind: str, body: dict) -> list[str]:
    with pytest.raises(PolicyError) as excinfo:
        parse_document(kind, body, doc=f"{kind}:x")
    return [str(problem) for problem in excinfo.value.problems]


def test_record_set_normalises_names_and_types() -> None:
    spec = parse_document(
        "rrset", {"zone": "Example.COM", "name": "WWW", "type": "a", "values": ["192.0.2.1"]}
    )
    assert spec.zone == "example.com."
    assert spec.name == "www"
    assert spec.type == "A"
    assert spec.fqdn() == "www.example.com."
    assert spec.doc_name() == "example.com./www/A"
    assert spec.to_body() == {"zone": "example.com.", "name": "www", "type": "A", "values": ["192.0.2.1"]}


def test_every_problem_is_listed_with_its_pointer() -> None:
    found = problems(
        "rrset",
        {"zone": "example.com", "name": "www", "type": "A", "values": ["192.0.2.1", "300.1.1.1"], "tll": 5},
    )
    assert found == [
        "rrset:x/values/1: '300.1.1.1': input is not a valid ipv4 address",
        "rrset:x/tll: unknown field 'tll' (known fields here: dynamic, name, ttl, type, values, zone); "
        "remove it or fix its spelling",
    ]


def test_unknown_record_type_names_supported_ones() -> None:
    (message,) = problems("rrset", {"zone": "example.com", "type": "A6", "values": []})
    assert message.startswith("rrset:x/type: unsupported record type 'A6'; supported: A, AAAA, CNAME")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"values": [{"preference": 70000, "exchange": "mx.example.com"}], "type": "MX"},
            "/values/0/preference: Input should be less than or equal to 65535",
        ),
        ({"values": ["a..b"], "type": "CNAME"}, "/values/0: 'a..b' has an empty label"),
        (
            {"values": ["x.example.", "y.example."], "type": "CNAME"},
            "/values: Tuple should have at most 1 item",
        ),
        ({"values": ["3 1 1 zz"], "type": "TLSA"}, "/values: value 0 ('3 1 1 zz'): not a valid TLSA value"),
        ({"values": [{"flags": 0, "tag": "is sue", "value": "x"}], "type": "CAA"}, "/values/0/tag:"),
        ({"values": ["2001:db8::1"], "type": "A"}, "'2001:db8::1': input is not a valid ipv4 address"),
        (
            {"values": ["192.0.2.1"], "type": "A", "name": "www.example.com."},
            "/name: 'www.example.com.' is absolute",
        ),
        ({"values": ["192.0.2.1"], "type": "A", "name": "a.*"}, "'*' is only allowed as the leftmost label"),
        (
            {"values": ["192.0.2.1"], "type": "A", "ttl": -1},
            "/ttl: Input should be greater than or equal to 0",
        ),
    ],
)
def test_record_value_errors(body: dict, expected: str) -> None:
    found = problems("rrset", {"zone": "example.com", "name": "www", **body})
    assert any(expected in message for message in found), found


def test_dynamic_structure_errors() -> None:
    found = problems(
        "rrset",
        {
            "zone": "example.com",
            "name": "www",
            "type": "A",
            "dynamic": {
                "pools": {"eu": {"values": [{"value": "192.0.2.1", "weight": 0}]}},
                "rules": [{"pool": "eu", "subnets": ["10.0.0.1/8"]}, {"pool": "eu", "nearest": ["eu"]}],
                "on_all_down": "fallback_pool",
            },
        },
    )
    assert "rrset:x/dynamic/pools/eu/values/0/weight: Input should be greater than or equal to 1" in found
    assert (
        "rrset:x/dynamic/rules/0/subnets/0: '10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?" in found
    )
    assert "rrset:x/dynamic/rules/1: a rule needs exactly one of 'pool' or 'nearest'" in found


def test_health_check_bad_definitions() -> None:
    assert problems("check", {"tenant": "acme", "name": "web", "type": "tcp", "port": 0}) == [
        "check:x/port: Input should be greater than or equal to 1"
    ]
    assert problems(
        "check", {"tenant": "acme", "name": "web", "type": "tcp", "port": 80, "interval": -1}
    ) == ["check:x/interval: Input should be greater than 0"]
    (message,) = problems(
        "check", {"tenant": "acme", "name": "web", "type": "http", "interval": 1, "timeout": 5}
    )
    assert "timeout (5.0s) is longer than interval (1.0s)" in message
    assert problems("check", {"tenant": "acme", "name": "web", "type": "smtp"}) == [
        "check:x/type: unknown check type 'smtp'; use one of tcp, http, https, dns, udp"
    ]
    (message,) = problems(
        "check", {"tenant": "acme", "name": "web", "type": "http", "expect_body_regex": "("}
    )
    assert "expect_body_regex does not compile" in message


def test_anycast_values_never_reach_exabgp_unchecked() -> None:
    found = problems(
        "anycast",
        {
            "tenant": "acme",
            "name": "dns",
            "prefix": "192.0.2.0/24",
            "service": "dns",
            "next_hop": "2001:db8::1",
            "states": {"up": {"communities": ["65000:1\nannounce route 0.0.0.0/0"]}},
        },
    )
    assert any("is not a BGP community" in message for message in found)
    (message,) = problems(
        "anycast",
        {
            "tenant": "acme",
            "name": "dns",
            "prefix": "192.0.2.0/24",
            "service": "dns",
            "next_hop": "2001:db8::1",
        },
    )
    assert "not a host route" in message and "next_hop 2001:db8::1 is IPv6 but prefix is IPv4" in message


def test_vip_and_tenant_names() -> None:
    (message,) = problems(
        "vip",
        {
            "tenant": "acme",
            "name": "web",
            "address": "192.0.2.1",
            "port": 80,
            "maglev_table_size": 1000,
            "reals": [{"address": "10.0.0.1"}],
        },
    )
    assert "maglev_table_size 1000 is not prime" in message
    found = problems("tenant", {"name": "Acme Corp"})
    assert found[0].startswith("tenant:x/name: 'Acme Corp' is not a valid name")


def test_models_are_frozen() -> None:
    spec = parse_document("tenant", {"name": "acme"})
    with pytest.raises(Exception, match="frozen"):
        spec.name = "other"  # type: ignore[misc]


def test_non_object_body() -> None:
    assert problems("zone", ["example.com"]) == ["zone:x: a zone must be an object, not list"]  # type: ignore[arg-type]
