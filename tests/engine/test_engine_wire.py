"""Hand-made wire encodings, byte for byte against dnspython's encoder."""

from __future__ import annotations

import struct

import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import pytest
from engine_helpers import reply

from gslb.engine.wire import (
    encode_a,
    encode_aaaa,
    encode_caa,
    encode_generic,
    encode_mx,
    encode_name,
    encode_soa,
    encode_srv,
    encode_txt,
    rdtype_code,
    rr_for_question,
    rr_with_owner,
)


def reference(rdtype: str, text: str) -> bytes:
    wire = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), text).to_wire()
    assert wire is not None
    return wire


@pytest.mark.parametrize(
    "name", ["example.com.", "www.example.com", "*.a-b.example.", "_sip._udp.example.org.", "."]
)
def test_names_match_dnspython(name: str) -> None:
    assert encode_name(name) == dns.name.from_text(name).to_wire()


def test_names_are_lower_cased_and_checked() -> None:
    assert encode_name("WWW.Example.COM.") == encode_name("www.example.com.")
    with pytest.raises(ValueError, match="labels"):
        encode_name("a..b.")
    with pytest.raises(ValueError, match="labels"):
        encode_name("x" * 64 + ".example.")
    with pytest.raises(ValueError, match="255"):
        encode_name(".".join(["x" * 60] * 5) + ".")


@pytest.mark.parametrize(
    ("rdtype", "ours", "text"),
    [
        ("A", encode_a("192.0.2.1"), "192.0.2.1"),
        ("AAAA", encode_aaaa("2001:db8::1"), "2001:db8::1"),
        ("CNAME", encode_name("target.example.net."), "target.example.net."),
        ("NS", encode_name("ns1.example.com."), "ns1.example.com."),
        ("PTR", encode_name("host.example.com."), "host.example.com."),
        ("MX", encode_mx(10, "mx1.example.com."), "10 mx1.example.com."),
        ("SRV", encode_srv(10, 20, 5060, "sip.example.com."), "10 20 5060 sip.example.com."),
        ("CAA", encode_caa(0, "issue", "letsencrypt.org"), '0 issue "letsencrypt.org"'),
        ("CAA", encode_caa(128, "iodef", "mailto:a@example.com"), '128 iodef "mailto:a@example.com"'),
        ("TXT", encode_txt("v=spf1 -all"), '"v=spf1 -all"'),
        ("TXT", encode_txt(""), '""'),
        (
            "SOA",
            encode_soa("ns1.example.com.", "hostmaster.example.com.", 7, 3600, 600, 604800, 300),
            "ns1.example.com. hostmaster.example.com. 7 3600 600 604800 300",
        ),
    ],
)
def test_rdata_matches_dnspython(rdtype: str, ours: bytes, text: str) -> None:
    assert ours == reference(rdtype, text)


def test_long_txt_is_split_into_255_octet_strings() -> None:
    value = "k=" + "A" * 600
    expected = dns.rdtypes.ANY.TXT.TXT(
        dns.rdataclass.IN,
        dns.rdatatype.TXT,
        [value[:255].encode(), value[255:510].encode(), value[510:].encode()],
    ).to_wire()
    assert encode_txt(value) == expected
    assert [len(chunk) for chunk in _strings(encode_txt(value))] == [255, 255, 92]


def _strings(wire: bytes) -> list[bytes]:
    chunks = []
    while wire:
        chunks.append(wire[1 : 1 + wire[0]])
        wire = wire[1 + wire[0] :]
    return chunks


def test_txt_is_utf8_text() -> None:
    assert encode_txt("héllo") == b"\x06h\xc3\xa9llo"


@pytest.mark.parametrize(
    ("rdtype", "text"),
    [
        ("DS", "12345 13 2 " + "ab" * 32),
        ("TLSA", "3 1 1 " + "cd" * 32),
        ("SSHFP", "4 2 " + "ef" * 32),
        ("NAPTR", '10 100 "s" "SIP+D2U" "" _sip._udp.example.com.'),
        ("HTTPS", '1 . alpn="h2,h3"'),
        ("SVCB", "1 svc.example.com. port=8443"),
        ("URI", '10 1 "https://example.com/"'),
        ("SPF", '"v=spf1 -all"'),
        ("LOC", "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m"),
    ],
)
def test_generic_types_use_dnspython(rdtype: str, text: str) -> None:
    assert encode_generic(rdtype, text) == reference(rdtype, text)


def test_generic_relative_names_complete_with_the_origin() -> None:
    ours = encode_generic("NAPTR", '10 100 "s" "SIP+D2U" "" _sip._udp', origin="example.com.")
    assert ours == reference("NAPTR", '10 100 "s" "SIP+D2U" "" _sip._udp.example.com.')


def test_type_codes() -> None:
    assert [rdtype_code(t) for t in ("A", "AAAA", "CAA", "HTTPS", "TLSA")] == [1, 28, 257, 65, 52]


def test_rr_for_question_is_owned_by_the_question_name() -> None:
    rr = rr_for_question(1, 60, encode_a("192.0.2.7"))
    assert rr == b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 7])
    message = reply("www.example.com.", 1, rr + rr_for_question(1, 60, encode_a("192.0.2.8")), 2)
    assert [rrset.to_text() for rrset in message.answer] == [
        "www.example.com. 60 IN A 192.0.2.7\nwww.example.com. 60 IN A 192.0.2.8"
    ]
    # The pointer repeats the question exactly as asked, so the answer keeps the asker's case.
    header = struct.pack("!HHHHHH", 1, 0x8400, 1, 1, 0, 0)
    asked_name = dns.name.from_text("WWW.Example.com.").to_wire()
    assert asked_name is not None
    question = asked_name + struct.pack("!HH", 1, 1)
    asked = dns.message.from_wire(header + question + rr)
    assert asked.answer[0].name.to_text() == "WWW.Example.com."


def test_rr_with_owner_names_its_owner() -> None:
    owner = encode_name("ns1.example.com.")
    rr = rr_with_owner(owner, 28, 3600, encode_aaaa("2001:db8::53"))
    header = struct.pack("!HHHHHH", 1, 0x8400, 0, 0, 0, 1)
    message = dns.message.from_wire(header + rr)
    assert message.additional[0].to_text() == "ns1.example.com. 3600 IN AAAA 2001:db8::53"
