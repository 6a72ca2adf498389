"""Responder: authoritative answers, negative answers, CNAME chains, wildcards, referrals, ANY."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
from test_dns_responder_support import SNAPSHOT, ask, query, responder, texts

from gslb.dns.message import QueryInfo
from gslb.dns.responder import Responder
from gslb.engine import Snapshot


def test_static_answer_is_authoritative_and_echoes_id_rd_and_question() -> None:
    reply = ask("www.example.com", "A", qid=0xBEEF)
    assert reply.id == 0xBEEF
    assert reply.flags & dns.flags.QR and reply.flags & dns.flags.AA and reply.flags & dns.flags.RD
    assert reply.rcode() == dns.rcode.NOERROR
    assert texts(reply.answer) == [
        "www.example.com. 300 IN A 192.0.2.1",
        "www.example.com. 300 IN A 192.0.2.2",
    ]
    assert reply.authority == [] and reply.additional == []


def test_question_case_is_preserved_in_question_and_answer_owner() -> None:
    raw = responder().answer(query("WwW.ExAmPlE.cOm", "AAAA"), "192.0.2.99", tcp=False)
    assert raw is not None
    assert b"\x03WwW\x07ExAmPlE\x03cOm\x00" in raw
    reply = dns.message.from_wire(raw)
    assert str(reply.question[0].name) == "WwW.ExAmPlE.cOm."
    assert texts(reply.answer) == ["WwW.ExAmPlE.cOm. 300 IN AAAA 2001:db8::1"]


def test_nxdomain_carries_the_soa_with_the_negative_ttl() -> None:
    reply = ask("nope.example.com", "A")
    assert reply.rcode() == dns.rcode.NXDOMAIN
    assert reply.flags & dns.flags.AA
    assert reply.answer == []
    assert texts(reply.authority) == [
        "example.com. 60 IN SOA ns1.example.com. dns.example.com. 2024010101 3600 600 604800 60"
    ]


def test_nodata_for_a_missing_type_and_for_empty_non_terminals() -> None:
    for name, rdtype in (("www.example.com", "MX"), ("ent.example.com", "A")):
        reply = ask(name, rdtype)
        assert reply.rcode() == dns.rcode.NOERROR
        assert reply.answer == []
        assert [rrset.rdtype for rrset in reply.authority] == [dns.rdatatype.SOA]
        assert reply.authority[0].ttl == 60


def test_cname_chain_is_followed_with_compressed_owners() -> None:
    reply = ask("Alias.example.com", "A")
    assert texts(reply.answer) == [
        "Alias.example.com. 300 IN CNAME chain.example.com.",
        "chain.example.com. 300 IN CNAME www.example.com.",
        "www.example.com. 300 IN A 192.0.2.1",
        "www.example.com. 300 IN A 192.0.2.2",
    ]
    assert reply.flags & dns.flags.AA


def test_cname_query_answers_the_cname_only() -> None:
    assert texts(ask("alias.example.com", "CNAME").answer) == [
        "alias.example.com. 300 IN CNAME chain.example.com."
    ]


def test_cname_chain_crosses_into_other_hosted_zones() -> None:
    assert texts(ask("cross.example.com", "A").answer) == [
        "cross.example.com. 300 IN CNAME app.example.org.",
        "app.example.org. 300 IN A 198.51.100.7",
    ]


def test_cname_to_a_missing_hosted_name_is_nxdomain_with_the_target_zone_soa() -> None:
    reply = ask("gone.example.com", "A")
    assert reply.rcode() == dns.rcode.NXDOMAIN  # RFC 6604: the rcode of the last name
    assert texts(reply.answer) == ["gone.example.com. 300 IN CNAME missing.example.org."]
    assert str(reply.authority[0].name) == "example.org."


def test_cname_out_of_our_zones_and_cname_loops_stop() -> None:
    assert texts(ask("outside.example.com", "A").answer) == [
        "outside.example.com. 300 IN CNAME www.example.net."
    ]
    reply = ask("loop1.example.com", "A")
    assert reply.rcode() == dns.rcode.NOERROR
    assert len(reply.answer) == 2


def test_cname_to_a_dynamic_answer_selects_it() -> None:
    assert texts(ask("todyn.example.com", "A").answer) == [
        "todyn.example.com. 300 IN CNAME net.example.com.",
        "net.example.com. 300 IN A 192.0.2.102",
    ]


def test_wildcard_synthesises_the_queried_name() -> None:
    reply = ask("a.B.wild.example.com", "A")
    assert texts(reply.answer) == ["a.B.wild.example.com. 300 IN A 192.0.2.9"]
    assert reply.flags & dns.flags.AA
    nodata = ask("x.wild.example.com", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == []


def test_referral_below_a_cut_has_ns_and_glue_and_no_aa() -> None:
    for name in ("sub.example.com", "deep.www.sub.example.com"):
        reply = ask(name, "A")
        assert reply.rcode() == dns.rcode.NOERROR
        assert not reply.flags & dns.flags.AA
        assert reply.answer == []
        assert sorted(texts(reply.authority)) == [
            "sub.example.com. 300 IN NS ns.other.example.",
            "sub.example.com. 300 IN NS ns.sub.example.com.",
        ]
        assert texts(reply.additional) == ["ns.sub.example.com. 300 IN A 192.0.2.54"]


def test_ds_at_the_cut_is_answered_by_the_parent() -> None:
    reply = ask("sub.example.com", "DS")
    assert reply.flags & dns.flags.AA
    assert [rrset.rdtype for rrset in reply.answer] == [dns.rdatatype.DS]


def test_apex_ns_and_soa_are_answered_with_glue() -> None:
    reply = ask("example.com", "NS")
    assert reply.flags & dns.flags.AA
    assert len(reply.answer[0]) == 2
    assert texts(reply.additional) == ["ns1.example.com. 300 IN A 192.0.2.53"]
    soa = ask("example.com", "SOA")
    assert texts(soa.answer) == [
        "example.com. 3600 IN SOA ns1.example.com. dns.example.com. 2024010101 3600 600 604800 60"
    ]


def test_any_answers_one_record_set() -> None:
    reply = ask("www.example.com", "ANY")
    assert [rrset.rdtype for rrset in reply.answer] == [dns.rdatatype.A]  # RFC 8482: a subset
    assert ask("nope.example.com", "ANY").rcode() == dns.rcode.NXDOMAIN


def test_names_outside_hosted_zones_are_refused() -> None:
    reply = ask("www.example.net", "A")
    assert reply.rcode() == dns.rcode.REFUSED
    assert not reply.flags & dns.flags.AA


def test_info_names_zone_qtype_rcode_and_pool() -> None:
    resp = responder()
    _, info = resp.answer_with_info(query("www.example.com"), "192.0.2.99", tcp=False)
    assert info == QueryInfo("example.com.", 1, 0, None)
    _, info = resp.answer_with_info(query("net.example.com"), "10.1.2.3", tcp=False)
    assert info == QueryInfo("example.com.", 1, 0, "office")
    _, info = resp.answer_with_info(query("nope.example.com", "AAAA"), "192.0.2.99", tcp=False)
    assert info == QueryInfo("example.com.", 28, 3, None)


def test_fail_closed_dynamic_answer_is_nodata() -> None:
    reply = ask("closed.example.com", "A")
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer == []
    assert reply.authority[0].rdtype == dns.rdatatype.SOA


def test_no_snapshot_yet_is_servfail_and_a_new_snapshot_is_seen() -> None:
    current: list[Snapshot | None] = [None]
    resp = Responder(lambda: current[0])
    raw = resp.answer(query("www.example.com"), "192.0.2.1", tcp=False)
    assert raw is not None and dns.message.from_wire(raw).rcode() == dns.rcode.SERVFAIL
    current[0] = SNAPSHOT
    raw = resp.answer(query("www.example.com"), "192.0.2.1", tcp=False)
    assert raw is not None and dns.message.from_wire(raw).rcode() == dns.rcode.NOERROR
