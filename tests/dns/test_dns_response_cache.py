"""The responder's memo of UDP responses: identical queries get identical answers, new ID, fresh data.

A cached response must be indistinguishable from a computed one: every test asks the same
responder twice or more and compares with what a fresh responder says.
"""

from __future__ import annotations

import random
from collections import Counter
from functools import partial

import dns.edns
import dns.message
import dns.rdatatype
from test_dns_responder_support import SNAPSHOT, query, responder, rrset, snapshot, texts

from geodata.lookup import GeoDatabase
from gslb.dns.responder import Responder
from gslb.engine import Snapshot


def answer(resp: Responder, packet: bytes, client: str = "192.0.2.99", *, tcp: bool = False) -> bytes:
    raw = resp.answer(packet, client, tcp=tcp)
    assert raw is not None
    return raw


def addresses(raw: bytes) -> list[str]:
    message = dns.message.from_wire(raw)
    return [rd.address for rrset in message.answer if rrset.rdtype == dns.rdatatype.A for rd in rrset]


def test_repeated_static_query_gets_the_same_bytes_with_its_own_id() -> None:
    resp = responder()
    first = answer(resp, query("www.example.com", qid=1))
    second = answer(resp, query("www.example.com", qid=0xBEEF))
    assert second[:2] == b"\xbe\xef" and second[2:] == first[2:]
    assert second == answer(responder(), query("www.example.com", qid=0xBEEF))


def test_spelling_flags_and_edns_are_part_of_the_key() -> None:
    resp = responder()
    for packet in (
        query("www.example.com"),
        query("WWW.Example.COM"),
        query("www.example.com", use_edns=0),
        query("www.example.com", use_edns=0, want_dnssec=True),
        query("big.example.com", "TXT", use_edns=0, payload=512),  # truncated at 512
        query("big.example.com", "TXT", use_edns=0, payload=1232),  # fits
        query("nope.example.com"),
        query("www.example.net"),  # refused
    ):
        expected = answer(responder(), packet)
        assert answer(resp, packet) == expected
        assert answer(resp, packet) == expected  # from the memo


def test_tcp_and_udp_answers_are_kept_apart() -> None:
    resp = responder()
    packet = query("big.example.com", "TXT", use_edns=0, payload=512)
    assert dns.message.from_wire(answer(resp, packet)).flags & dns.flags.TC
    full = dns.message.from_wire(answer(resp, packet, tcp=True))
    assert not full.flags & dns.flags.TC and len(texts(full.answer)) == 8
    assert dns.message.from_wire(answer(resp, packet)).flags & dns.flags.TC


def test_a_new_snapshot_is_answered_at_once() -> None:
    current: list[Snapshot] = [SNAPSHOT]
    resp = Responder(lambda: current[0])
    packet = query("www.example.com")
    assert addresses(answer(resp, packet)) == ["192.0.2.1", "192.0.2.2"]
    current[0] = snapshot(rrset("www", "A", ["192.0.2.77"]))  # replaces www A
    assert addresses(answer(resp, packet)) == ["192.0.2.77"]


def test_dynamic_answers_are_remembered_per_source_address() -> None:
    resp = responder()
    packet = query("net.example.com")
    for _ in range(3):
        assert addresses(answer(resp, packet, "10.1.2.3")) == ["192.0.2.101"]  # office subnet
        assert addresses(answer(resp, packet, "192.0.2.99")) == ["192.0.2.102"]


def test_dynamic_answers_with_ecs_are_remembered_per_subnet_not_per_resolver() -> None:
    resp = responder()
    office = query("net.example.com", use_edns=0, options=[dns.edns.ECSOption("10.1.2.0", 24)])
    elsewhere = query("net.example.com", use_edns=0, options=[dns.edns.ECSOption("10.2.2.0", 24)])
    for resolver in ("192.0.2.99", "10.1.9.9", "192.0.2.99"):
        assert addresses(answer(resp, office, resolver)) == ["192.0.2.101"]
        assert addresses(answer(resp, elsewhere, resolver)) == ["192.0.2.102"]


def test_ecs_source_zero_is_remembered_per_source_address() -> None:
    resp = responder()
    anyone = query("net.example.com", use_edns=0, options=[dns.edns.ECSOption("0.0.0.0", 0)])
    for _ in range(2):
        assert addresses(answer(resp, anyone, "10.1.2.3")) == ["192.0.2.101"]
        assert addresses(answer(resp, anyone, "192.0.2.99")) == ["192.0.2.102"]


def test_geo_answers_are_remembered_per_client_location(demo_geo: GeoDatabase) -> None:
    resp = Responder(lambda: SNAPSHOT, geo=demo_geo)
    packet = query("geo.example.com")
    for _ in range(2):
        assert addresses(answer(resp, packet, "127.0.2.1")) == ["192.0.2.203"]  # Tokyo: asia
        assert addresses(answer(resp, packet, "127.0.0.1")) == ["192.0.2.204"]  # San Francisco: us
        assert addresses(answer(resp, packet, "127.0.1.1"))[0] in {"192.0.2.201", "192.0.2.202"}  # Berlin


def test_weighted_picks_stay_random_per_query_from_one_client() -> None:
    docs = rrset(
        "w",
        "A",
        dynamic={
            "pools": {
                "p": {"values": [{"value": "192.0.2.1", "weight": 1}, {"value": "192.0.2.2", "weight": 3}]}
            },
            "rules": [{"pool": "p"}],
            "max_answers": 1,
        },
    )
    weighted = snapshot(docs)
    resp = Responder(lambda: weighted, random_bits=partial(random.Random(7).getrandbits, 64))
    seen = Counter(addresses(answer(resp, query("w.example.com"), "192.0.2.99"))[0] for _ in range(4000))
    assert set(seen) == {"192.0.2.1", "192.0.2.2"}
    assert 0.2 < seen["192.0.2.1"] / 4000 < 0.3  # weight 1 of 4


def test_rotation_keeps_every_member_and_varies_the_first() -> None:
    docs = rrset(
        "all",
        "A",
        dynamic={
            "pools": {"p": {"values": [{"value": "192.0.2.151"}, {"value": "192.0.2.152"}]}},
            "rules": [{"pool": "p"}],
            "max_answers": None,
        },
    )
    every = snapshot(docs)
    resp = Responder(lambda: every, random_bits=partial(random.Random(3).getrandbits, 64))
    firsts: Counter[str] = Counter()
    for _ in range(400):
        got = addresses(answer(resp, query("all.example.com"), "192.0.2.99"))
        assert sorted(got) == ["192.0.2.151", "192.0.2.152"]
        firsts[got[0]] += 1
    assert set(firsts) == {"192.0.2.151", "192.0.2.152"}


def test_sticky_answers_are_stable_per_client_and_spread_over_clients() -> None:
    docs = rrset(
        "s",
        "A",
        dynamic={
            "pools": {"p": {"values": [{"value": f"192.0.2.{n}"} for n in range(1, 5)]}},
            "rules": [{"pool": "p"}],
            "max_answers": 1,
            "sticky": {"ipv4_prefix": 24},
        },
    )
    sticky = snapshot(docs)
    resp = Responder(lambda: sticky, random_bits=partial(random.Random(5).getrandbits, 64))
    chosen = {}
    for net in range(40):
        client = f"10.0.{net}.1"
        first = addresses(answer(resp, query("s.example.com"), client))
        assert all(addresses(answer(resp, query("s.example.com"), client)) == first for _ in range(5))
        chosen[client] = first[0]
    assert len(set(chosen.values())) > 1


def test_the_memo_is_bounded() -> None:
    resp = responder(response_cache_size=16)
    for index in range(100):
        assert answer(resp, query(f"n{index}.example.com"))
    assert len(resp._responses) <= 16
    assert addresses(answer(resp, query("www.example.com"))) == ["192.0.2.1", "192.0.2.2"]
