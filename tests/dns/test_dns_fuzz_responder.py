"""Fuzz the responder: random and mutated packets never raise, and unparseable ones never amplify."""

from __future__ import annotations

import struct

import dns.edns
import dns.message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_dns_responder_support import query, responder

from gslb.dns.responder import Responder

RESPONDER: Responder = responder()
FUZZ = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID = [
    query("www.example.com"),
    query("WWW.example.com", "AAAA", use_edns=0),
    query("net.example.com", use_edns=0, options=[dns.edns.ECSOption("10.1.2.0", 24)]),
    query("geo.example.com", use_edns=0, options=[dns.edns.ECSOption("2001:db8:1::", 48)]),
    query("alias.example.com", use_edns=0, want_dnssec=True),
    query("x.sub.example.com", "ANY"),
    query("big.example.com", "TXT", use_edns=0, payload=512),
]


def check(packet: bytes, *, tcp: bool = False) -> None:
    raw, info = RESPONDER.answer_with_info(packet, "192.0.2.1", tcp=tcp)
    if raw is None:
        assert info is None
        return
    assert info is not None
    assert raw[:2] == packet[:2]  # ID echoed
    assert raw[2] & 0x80  # a response
    if info.rcode == 1:  # FORMERR: what we could not parse must not be answered with more
        assert len(raw) <= len(packet)
    else:
        dns.message.from_wire(raw)  # whatever we answer parses
    if not tcp:
        assert len(raw) <= 1232


@FUZZ
@given(st.binary(max_size=600), st.booleans())
def test_random_bytes_never_raise(packet: bytes, tcp: bool) -> None:
    check(packet, tcp=tcp)


@FUZZ
@given(st.binary(min_size=12, max_size=12), st.binary(max_size=300))
def test_random_queries_with_a_valid_looking_header(head: bytes, rest: bytes) -> None:
    # Clear QR and opcode so most packets reach the question and record parsers.
    flags = struct.unpack("!H", head[2:4])[0] & 0x07FF
    counts = struct.unpack("!HHHH", head[4:12])
    packet = head[:2] + struct.pack("!HHHHH", flags, 1, counts[1] % 4, counts[2] % 4, counts[3]) + rest
    check(packet)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    packet = bytearray(draw(st.sampled_from(VALID)))
    packet[2] &= 0x7F  # stay a query
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "truncate", "insert", "pointer", "count", "option"]))
        if not packet:
            break
        if action == "flip":
            index = draw(st.integers(0, len(packet) - 1))
            packet[index] = draw(st.integers(0, 255))
        elif action == "truncate":
            del packet[draw(st.integers(0, len(packet))) :]
        elif action == "insert":
            index = draw(st.integers(0, len(packet)))
            packet[index:index] = draw(st.binary(min_size=1, max_size=8))
        elif action == "pointer":  # compression pointers anywhere, including loops
            index = draw(st.integers(0, len(packet) - 1))
            target = draw(st.integers(0, 0x3FFF))
            packet[index : index + 2] = struct.pack("!H", 0xC000 | target)
        elif action == "count" and len(packet) >= 12:
            index = draw(st.sampled_from([4, 6, 8, 10]))
            packet[index : index + 2] = struct.pack("!H", draw(st.sampled_from([0, 1, 2, 0xFFFF])))
        elif action == "option":  # a random EDNS option appended to the OPT rdata
            code = draw(st.sampled_from([8, 10, 12, 0xFFFF]))
            data = draw(st.binary(max_size=20))
            claimed = draw(st.sampled_from([len(data), len(data) + 3, 0]))
            packet += struct.pack("!HH", code, claimed) + data
    return bytes(packet)


@FUZZ
@given(mutated(), st.booleans())
def test_mutated_queries_never_raise(packet: bytes, tcp: bool) -> None:
    check(packet, tcp=tcp)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(VALID), st.integers(0, 0xFFFF))
def test_valid_queries_answer_with_the_id_and_parse(packet: bytes, qid: int) -> None:
    packet = struct.pack("!H", qid) + packet[2:]
    raw = RESPONDER.answer(packet, "198.51.100.1", tcp=False)
    assert raw is not None
    assert dns.message.from_wire(raw).id == qid
