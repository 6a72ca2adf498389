"""RFC 1035 zone files: directives, grouping into record sets, SOA, unsupported types, syntax errors."""

from __future__ import annotations

import textwrap
from ipaddress import IPv4Address, IPv6Address

import pytest

from gslb.importer import PolicyImportError, load_bind_zone
from gslb.policy import PolicySet, Problem, parse_document, validate

ZONE = textwrap.dedent(
    """\
    $ORIGIN example.com.
    $TTL 3600
    @   IN SOA ns1 hostmaster (
            2024010101 ; serial
            7200 3600 1209600 300 )
        IN NS ns1
        IN NS ns2.example.net.
        IN MX 10 mail
        IN MX 20 mail.backup.example.net.
        IN TXT "v=spf1 mx -all" ; a comment
        IN CAA 0 issue "letsencrypt.org"
    ns1 A 192.0.2.53
    mail 300 A 192.0.2.25
    www A 192.0.2.10
        A 192.0.2.11
    *.wild CNAME www
    _sip._tcp SRV 10 60 5060 sip
    sip A 192.0.2.60
    dkim TXT "v=DKIM1; k=rsa; " "p=MIGf"
    $ORIGIN sub.example.com.
    host AAAA 2001:db8::1
    $TTL 60
    short A 192.0.2.99
    """
)


def load(text: str = ZONE, **kwargs):
    return load_bind_zone(text, filename="example.com.zone", zone="example.com.", **kwargs)


def test_records_are_grouped_into_record_sets() -> None:
    docs = load().by_key()
    assert list(docs) == [
        "rrset:example.com./@/SOA",
        "rrset:example.com./@/NS",
        "rrset:example.com./@/MX",
        "rrset:example.com./@/TXT",
        "rrset:example.com./@/CAA",
        "rrset:example.com./ns1/A",
        "rrset:example.com./mail/A",
        "rrset:example.com./www/A",
        "rrset:example.com./*.wild/CNAME",
        "rrset:example.com./_sip._tcp/SRV",
        "rrset:example.com./sip/A",
        "rrset:example.com./dkim/TXT",
        "rrset:example.com./host.sub/AAAA",
        "rrset:example.com./short.sub/A",
    ]
    assert docs["rrset:example.com./www/A"].values == (IPv4Address("192.0.2.10"), IPv4Address("192.0.2.11"))
    assert docs["rrset:example.com./@/NS"].values == ("ns1.example.com.", "ns2.example.net.")
    mx = docs["rrset:example.com./@/MX"].values
    assert [(value.preference, value.exchange) for value in mx] == [
        (10, "mail.example.com."),
        (20, "mail.backup.example.net."),
    ]
    assert docs["rrset:example.com./*.wild/CNAME"].values == ("www.example.com.",)
    srv = docs["rrset:example.com./_sip._tcp/SRV"].values[0]
    assert (srv.priority, srv.weight, srv.port, srv.target) == (10, 60, 5060, "sip.example.com.")
    caa = docs["rrset:example.com./@/CAA"].values[0]
    assert (caa.flags, caa.tag, caa.value) == (0, "issue", "letsencrypt.org")
    # Several strings in one TXT record are one value.
    assert docs["rrset:example.com./dkim/TXT"].values == ("v=DKIM1; k=rsa; p=MIGf",)
    assert docs["rrset:example.com./host.sub/AAAA"].values == (IPv6Address("2001:db8::1"),)


def test_origin_and_ttl_directives_are_honoured() -> None:
    docs = load().by_key()
    assert docs["rrset:example.com./www/A"].ttl == 3600
    assert docs["rrset:example.com./mail/A"].ttl == 300
    assert docs["rrset:example.com./short.sub/A"].ttl == 60


def test_soa_is_kept_with_its_values() -> None:
    soa = load().by_key()["rrset:example.com./@/SOA"]
    assert soa.name == "@"
    (value,) = soa.values
    assert (value.mname, value.rname, value.serial) == (
        "ns1.example.com.",
        "hostmaster.example.com.",
        2024010101,
    )
    assert (value.refresh, value.retry, value.expire, value.minimum) == (7200, 3600, 1209600, 300)


def test_zone_file_result_validates_and_is_scoped_to_the_zone() -> None:
    imported = load(tenant="acme", create_zone=True)
    assert imported.scope.zones == frozenset({"example.com."})
    merged = PolicySet.from_specs([parse_document("tenant", {"name": "acme"}), *imported.specs])
    assert validate(merged) == []


def test_problems_on_records_point_at_their_lines() -> None:
    imported = load()
    assert imported.locate(Problem("x", "/values/1", "rrset:example.com./www/A")).startswith(
        "example.com.zone:15: "
    )
    assert imported.locate(Problem("x", "/type", "rrset:example.com./@/SOA")).startswith(
        "example.com.zone:3: "
    )
    assert imported.locate(Problem("x", "/ttl", "rrset:example.com./mail/A")).startswith(
        "example.com.zone:13: "
    )


def test_cname_beside_other_data_is_left_to_validate_which_names_the_line() -> None:
    text = "$TTL 300\n@ NS ns1.example.com.\nwww A 192.0.2.1\nwww CNAME other.example.net.\n"
    imported = load(text, tenant="acme", create_zone=True)
    problems = validate(PolicySet.from_specs([parse_document("tenant", {"name": "acme"}), *imported.specs]))
    assert [imported.locate(problem) for problem in problems] == [
        "example.com.zone:4: rrset:example.com./www/CNAME/type: CNAME at www.example.com. cannot coexist "
        "with other data (A); remove them or use the target's records directly"
    ]


def test_differing_ttls_in_one_record_set_warn_and_use_the_lowest() -> None:
    imported = load("$TTL 300\n@ NS ns1.example.com.\nwww 60 A 192.0.2.1\nwww 120 A 192.0.2.2\n")
    assert imported.by_key()["rrset:example.com./www/A"].ttl == 60
    assert imported.warnings == (
        "example.com.zone:3: rrset:example.com./www/A: its records have different TTLs (60, 120); "
        "a record set has one TTL, using the lowest, 60",
    )


def test_unsupported_types_are_named_with_owner_and_line() -> None:
    with pytest.raises(PolicyImportError) as excinfo:
        load("$TTL 300\n@ NS ns1.example.com.\ninfo HINFO PC Linux\nold DNAME other.example.net.\n")
    assert [message.split("; supported")[0] for message in excinfo.value.messages] == [
        "example.com.zone:3: info.example.com. HINFO: record type HINFO is not supported",
        "example.com.zone:4: old.example.com. DNAME: record type DNAME is not supported",
    ]


@pytest.mark.parametrize(
    ("text", "line", "detail"),
    [
        ("$TTL 300\nwww A 1.2.3\nok A 1.2.3.4\n", 2, "Text input is malformed."),
        ("$TTL 300\nok A 1.2.3.4\nwww BOGUS x\n", 3, "unknown rdatatype 'BOGUS'"),
        # dnspython itself reports line 4 for these two: it has already read the newline.
        ("$TTL 300\na A 1.2.3.4\nb MX 10\nc A 1.1.1.1\n", 3, "expecting an identifier"),
        ('$TTL 300\nb TXT "unterminated\nc A 1.1.1.1\n', 2, "newline in quoted string"),
        ("$TTL 300\n$INCLUDE /etc/hosts\n", 2, "zone file directive '$INCLUDE' is not allowed"),
        ("www A 192.0.2.1\n", 1, "Missing default TTL value"),
    ],
)
def test_syntax_errors_name_the_line_of_the_offending_token(text: str, line: int, detail: str) -> None:
    with pytest.raises(PolicyImportError) as excinfo:
        load(text)
    assert excinfo.value.messages == [f"example.com.zone:{line}: zone file syntax error: {detail}"]


def test_syntax_error_inside_a_multi_line_record() -> None:
    text = "$TTL 300\n@ SOA ns1 hostmaster (\n  1 2 3\n  4 x )\n"
    with pytest.raises(PolicyImportError) as excinfo:
        load(text)
    (message,) = excinfo.value.messages
    assert message.startswith("example.com.zone:4: zone file syntax error:")
