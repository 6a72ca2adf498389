"""Query handling: malformed packets, opcodes, counts, classes, EDNS, ECS scope, truncation."""

from __future__ import annotations

import struct

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest
from test_dns_responder_support import ask, ecs_of, query, responder, texts

from geodata.lookup import GeoDatabase

CLIENT = "192.0.2.99"


def raw_answer(packet: bytes, *, tcp: bool = False, client: str = CLIENT) -> bytes | None:
    return responder().answer(packet, client, tcp=tcp)


def parsed(packet: bytes, **kwargs: object) -> dns.message.Message:
    raw = raw_answer(packet, **kwargs)  # type: ignore[arg-type]
    assert raw is not None
    return dns.message.from_wire(raw)


def header(packet: bytes) -> tuple[int, ...]:
    return struct.unpack("!HHHHHH", packet[:12])


# --- packets we do not answer or cannot parse -------------------------------------------------


def test_responses_and_runts_are_dropped() -> None:
    packet = bytearray(query("www.example.com"))
    packet[2] |= 0x80
    assert raw_answer(bytes(packet)) is None
    assert raw_answer(b"\x12\x34\x01") is None
    assert raw_answer(b"") is None


def test_unknown_opcode_is_notimp_with_the_id_and_opcode() -> None:
    packet = bytearray(query("www.example.com", qid=0x1111))
    packet[2] = (packet[2] & 0x87) | (2 << 3)  # opcode STATUS
    raw = raw_answer(bytes(packet))
    assert raw is not None
    qid, flags, qd, *_ = header(raw)
    assert (qid, flags & 0xF, (flags >> 11) & 0xF, qd) == (0x1111, 4, 2, 0)


@pytest.mark.parametrize("qdcount", [0, 2])
def test_qdcount_other_than_one_is_formerr(qdcount: int) -> None:
    packet = query("www.example.com", qid=0x2222)
    packet = packet[:4] + struct.pack("!H", qdcount) + packet[6:]
    if qdcount == 2:
        packet += packet[12:]
    raw = raw_answer(packet)
    assert raw is not None
    assert header(raw)[0] == 0x2222 and header(raw)[1] & 0xF == 1 and header(raw)[2] == 0
    assert len(raw) <= len(packet)


@pytest.mark.parametrize(
    "packet",
    [
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",  # question missing
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x00\x00",  # type/class cut short
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x40abc\x00\x00\x01\x00\x01",  # label type 01
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",  # pointer to itself
        # A pointer into the header, then an OPT cut short: once echoed the header-as-name grew
        # the FORMERR past the query (found by the fuzzer).
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\xc0\x00WW\x07example\x03com\x00"
        + b"\x00\x1c\x00\x01\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00",
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        + b"\x3f"
        + b"a" * 63
        + b"\x3f"
        + b"a" * 63
        + b"\x3f"
        + b"a" * 63
        + b"\x3f"
        + b"a" * 63
        + b"\x00\x00\x01\x00\x01",  # 257-octet name
    ],
)
def test_malformed_questions_are_formerr_with_the_id_and_no_longer(packet: bytes) -> None:
    raw = raw_answer(packet)
    assert raw is not None
    qid, flags, qd, *_ = header(raw)
    assert (qid, flags & 0x800F, qd) == (0x1234, 0x8001, 0)
    assert len(raw) <= len(packet)


def test_records_past_the_end_are_formerr_with_the_question_echoed() -> None:
    packet = query("www.example.com")
    packet = packet[:10] + b"\x00\x01" + packet[12:] + b"\x00\x00\x29\x04"  # an OPT cut short
    reply = parsed(packet)
    assert reply.rcode() == dns.rcode.FORMERR
    assert str(reply.question[0].name) == "www.example.com."


@pytest.mark.parametrize(
    ("family", "source", "address"),
    [
        (3, 24, b"\xc0\x00\x02"),  # unknown family
        (1, 33, b"\xc0\x00\x02\x00\x00"),  # prefix longer than IPv4
        (2, 129, b"\x20" + b"\x00" * 16),  # prefix longer than IPv6
        (1, 24, b"\xc0\x00\x02\x01"),  # one octet too many
        (1, 24, b"\xc0\x00"),  # one octet too few
        (1, 23, b"\xc0\x00\x03"),  # a bit set beyond the prefix
    ],
)
def test_invalid_ecs_is_formerr(family: int, source: int, address: bytes) -> None:
    option = dns.edns.GenericOption(dns.edns.OptionType.ECS, struct.pack("!HBB", family, source, 0) + address)
    packet = query("www.example.com", use_edns=0, options=[option])
    reply = parsed(packet)
    assert reply.rcode() == dns.rcode.FORMERR
    assert reply.edns == 0  # the OPT itself parsed: answered with ours
    assert len(raw_answer(packet) or b"") <= len(packet)


def test_unknown_edns_options_are_ignored() -> None:
    cookie = dns.edns.GenericOption(dns.edns.OptionType.COOKIE, b"\x01" * 8)
    reply = parsed(query("www.example.com", use_edns=0, options=[cookie]))
    assert reply.rcode() == dns.rcode.NOERROR
    assert list(reply.options) == []


def test_edns_version_above_zero_is_badvers() -> None:
    reply = parsed(query("www.example.com", use_edns=1))
    assert reply.rcode() == dns.rcode.BADVERS
    assert reply.edns == 0
    assert reply.answer == []


# --- classes and types handled elsewhere ------------------------------------------------------


def test_other_classes_are_refused_and_any_class_is_answered_as_in() -> None:
    chaos = dns.message.make_query("version.bind", "TXT", "CH").to_wire()
    assert parsed(chaos).rcode() == dns.rcode.REFUSED
    any_class = dns.message.make_query("www.example.com", "A", "ANY").to_wire()
    assert len(parsed(any_class).answer) == 1


@pytest.mark.parametrize("rdtype", ["AXFR", "IXFR"])
def test_zone_transfers_are_notimp_here(rdtype: str) -> None:
    assert parsed(query("example.com", rdtype)).rcode() == dns.rcode.NOTIMP


# --- EDNS in responses ------------------------------------------------------------------------


def test_opt_in_the_query_gets_our_opt_and_the_do_bit_back() -> None:
    reply = ask("www.example.com", use_edns=0, want_dnssec=True, payload=4096)
    assert reply.edns == 0 and reply.payload == 1232
    assert reply.ednsflags & dns.flags.DO
    assert ask("www.example.com").edns == -1


def test_ecs_scope_is_zero_for_static_and_negative_answers() -> None:
    option = dns.edns.ECSOption("198.51.100.0", 24)
    for name in ("www.example.com", "nope.example.com"):
        ecs = ecs_of(ask(name, use_edns=0, options=[option]))
        assert (ecs.address, ecs.srclen, ecs.scopelen) == ("198.51.100.0", 24, 0)


def test_ecs_scope_of_a_subnet_rule_is_the_rule_prefix() -> None:
    reply = ask("net.example.com", use_edns=0, options=[dns.edns.ECSOption("10.1.2.0", 24)])
    assert texts(reply.answer) == ["net.example.com. 300 IN A 192.0.2.101"]
    ecs = ecs_of(reply)
    assert (ecs.address, ecs.srclen, ecs.scopelen) == ("10.1.2.0", 24, 16)


def test_ecs_address_decides_not_the_source_address() -> None:
    reply = ask(
        "net.example.com", client="10.1.0.1", use_edns=0, options=[dns.edns.ECSOption("192.0.2.0", 24)]
    )
    assert texts(reply.answer) == ["net.example.com. 300 IN A 192.0.2.102"]
    assert texts(ask("net.example.com", client="10.1.0.1").answer) == [
        "net.example.com. 300 IN A 192.0.2.101"
    ]
    assert texts(ask("net.example.com", client="::ffff:10.1.0.1").answer) == [
        "net.example.com. 300 IN A 192.0.2.101"
    ]


def test_ecs_scope_of_a_geo_rule_is_the_geoip_network(demo_geo: GeoDatabase) -> None:
    resp = responder(geo=demo_geo)
    eu = ask("geo.example.com", resp=resp, use_edns=0, options=[dns.edns.ECSOption("10.1.7.0", 24)])
    assert ecs_of(eu).scopelen == 16  # 10.1.0.0/16 is Paris in the demo geography
    assert {rr.to_text() for rr in eu.answer[0]} <= {"192.0.2.201", "192.0.2.202"}
    asia = ask("geo.example.com", resp=resp, use_edns=0, options=[dns.edns.ECSOption("203.0.113.0", 24)])
    assert texts(asia.answer) == ["geo.example.com. 300 IN A 192.0.2.203"]
    assert ecs_of(asia).scopelen == 24
    # Without ECS the source address is located: 127.0.1.0/24 is Berlin.
    assert texts(ask("geo.example.com", resp=resp, client="127.0.1.9").answer)[0].endswith(("201", "202"))
    assert texts(ask("geo.example.com", resp=resp, client="127.0.0.9").answer) == [
        "geo.example.com. 300 IN A 192.0.2.204"
    ]


def test_ecs_source_zero_answers_for_everyone_with_scope_zero() -> None:
    reply = ask("net.example.com", client="10.1.0.1", use_edns=0, options=[dns.edns.ECSOption("0.0.0.0", 0)])
    assert ecs_of(reply).scopelen == 0


def test_ipv6_ecs_is_echoed() -> None:
    reply = ask("net.example.com", use_edns=0, options=[dns.edns.ECSOption("2001:db8:1::", 48)])
    ecs = ecs_of(reply)
    assert (ecs.address, ecs.srclen) == ("2001:db8:1::", 48)


# --- truncation -------------------------------------------------------------------------------


def test_udp_without_edns_truncates_above_512_bytes() -> None:
    packet = query("big.example.com", "TXT")
    raw = raw_answer(packet)
    assert raw is not None and len(raw) <= 512
    reply = dns.message.from_wire(raw)
    assert reply.flags & dns.flags.TC
    assert reply.answer == [] and str(reply.question[0].name) == "big.example.com."
    full = parsed(packet, tcp=True)
    assert not full.flags & dns.flags.TC and len(full.answer[0]) == 8


def test_udp_with_edns_uses_the_smaller_of_both_payloads() -> None:
    assert not ask("big.example.com", "TXT", use_edns=0, payload=1232).flags & dns.flags.TC
    small = ask("big.example.com", "TXT", use_edns=0, payload=600)
    assert small.flags & dns.flags.TC and small.edns == 0
    tiny = ask("big.example.com", "TXT", use_edns=0, payload=100)  # counts as 512
    assert tiny.flags & dns.flags.TC
    huge = ask("huge.example.com", "TXT", use_edns=0, payload=65000)
    assert huge.flags & dns.flags.TC  # our own limit, 1232
    over_tcp = ask("huge.example.com", "TXT", tcp=True)
    assert len(over_tcp.answer[0]) == 40
