"""Forwarding over real sockets: a forwarding server and real upstream DNS servers on loopback.

Upstreams are either a real authoritative `gslb` DNS server (DnsListeners over a compiled zone)
or a scripted UDP server that can delay, stay silent, or send spoofed answers first.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from test_dns_responder_support import rrset, snapshot

from gslb.dns.forward.cache import CacheSettings
from gslb.dns.forward.forwarder import Forwarder, ForwardSettings
from gslb.dns.listeners import DnsListeners, ListenAddress
from gslb.dns.metrics import CountingAnswerer, QueryMetrics
from gslb.dns.responder import Responder
from gslb.engine import Snapshot

UPSTREAM_ZONE = "upstream.test."


def upstream_snapshot() -> Snapshot:
    docs = (
        ("zone", {"name": UPSTREAM_ZONE, "tenant": "acme", "ttl": 300}),
        rrset("@", "NS", ["ns1.upstream.test."], zone=UPSTREAM_ZONE),
        rrset(
            "@",
            "SOA",
            [{"mname": "ns1.upstream.test.", "rname": "h.upstream.test.", "minimum": 60}],
            zone=UPSTREAM_ZONE,
        ),
        rrset("ns1", "A", ["192.0.2.53"], zone=UPSTREAM_ZONE),
        rrset("www", "A", ["192.0.2.80"], zone=UPSTREAM_ZONE),
        rrset("short", "A", ["192.0.2.81"], zone=UPSTREAM_ZONE, ttl=1),
        rrset("big", "TXT", [f"{i:03d}-" + "z" * 200 for i in range(20)], zone=UPSTREAM_ZONE),
        ("zone", {"name": "cluster.local.", "tenant": "acme", "ttl": 30}),
        rrset("@", "NS", ["ns1.upstream.test."], zone="cluster.local."),
        rrset("api.ns.svc", "A", ["10.96.0.7"], zone="cluster.local."),
    )
    return snapshot(*docs)


class Counting:
    """Counts the queries a real upstream answers."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.count = 0

    def answer_with_info(self, packet: bytes, client_ip: str, *, tcp: bool) -> Any:
        self.count += 1
        return self.responder.answer_with_info(packet, client_ip, tcp=tcp)


async def start_upstream() -> tuple[DnsListeners, Counting, int]:
    counting = Counting(Responder(lambda: UPSTREAM))
    listeners = DnsListeners(CountingAnswerer(counting, QueryMetrics()), [ListenAddress("127.0.0.1", 0)])
    await listeners.start()
    return listeners, counting, listeners.bound[0][1]


UPSTREAM = upstream_snapshot()
LOCAL = snapshot()  # the forwarding server's own zones (example.com., example.org.)


async def start_forwarder(**settings: Any) -> tuple[DnsListeners, Forwarder, int]:
    settings.setdefault("timeout", 0.5)
    forwarder = Forwarder(ForwardSettings(**settings))
    responder = Responder(lambda: LOCAL, outside=forwarder)
    listeners = DnsListeners(CountingAnswerer(responder, QueryMetrics()), [ListenAddress("127.0.0.1", 0)])
    await listeners.start()
    return listeners, forwarder, listeners.bound[0][1]


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Counting, int, DnsListeners]]:
    listeners, counting, port = await start_upstream()
    yield counting, port, listeners
    await listeners.close()


async def ask(
    port: int, name: str, rdtype: str = "A", *, tcp: bool = False, timeout: float = 2.0
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, use_edns=0)
    if tcp:
        return await dns.asyncquery.tcp(query, "127.0.0.1", port=port, timeout=timeout)
    return await dns.asyncquery.udp(query, "127.0.0.1", port=port, timeout=timeout)


def a_records(message: dns.message.Message) -> list[tuple[str, int]]:
    return [
        (rd.address, rrset.ttl) for rrset in message.answer if rrset.rdtype == dns.rdatatype.A for rd in rrset
    ]


async def test_cache_hits_count_down_the_ttl_and_ask_upstream_once(upstream: Any) -> None:
    counting, port, _ = upstream
    server, forwarder, fport = await start_forwarder(upstreams=(f"127.0.0.1:{port}",))
    try:
        first = await ask(fport, "www.upstream.test.")
        assert a_records(first) == [("192.0.2.80", 300)]
        assert first.flags & dns.flags.RA and not first.flags & dns.flags.AA
        await asyncio.sleep(1.1)
        second = await ask(fport, "WWW.Upstream.TEST.")
        assert [address for address, _ in a_records(second)] == ["192.0.2.80"]
        assert a_records(second)[0][1] in (298, 299)  # counted down while cached
        assert str(second.question[0].name) == "WWW.Upstream.TEST."  # the client's spelling
        assert counting.count == 1 and forwarder.counts["hit"] == 1
    finally:
        await server.close()
        await forwarder.close()


async def test_hosted_zones_are_still_answered_authoritatively(upstream: Any) -> None:
    counting, port, _ = upstream
    server, forwarder, fport = await start_forwarder(upstreams=(f"127.0.0.1:{port}",))
    try:
        reply = await ask(fport, "www.example.com.")
        assert reply.flags & dns.flags.AA and [a for a, _ in a_records(reply)] == ["192.0.2.1", "192.0.2.2"]
        assert counting.count == 0
    finally:
        await server.close()
        await forwarder.close()


async def test_negative_answers_are_cached_for_the_soa_minimum(upstream: Any) -> None:
    counting, port, _ = upstream
    server, forwarder, fport = await start_forwarder(upstreams=(f"127.0.0.1:{port}",))
    try:
        for _ in range(3):
            reply = await ask(fport, "nope.upstream.test.")
            assert reply.rcode() == dns.rcode.NXDOMAIN
            assert reply.authority[0].rdtype == dns.rdatatype.SOA
        assert counting.count == 1
        entry = next(iter(forwarder.cache._entries.values()))
        assert entry.lifetime == 60  # min(SOA TTL 300, minimum 60)
    finally:
        await server.close()
        await forwarder.close()


async def test_kubernetes_search_path_misses_are_answered_from_the_cache(upstream: Any) -> None:
    counting, port, _ = upstream
    server, forwarder, fport = await start_forwarder(
        upstreams=("127.0.0.1:1",), stubs=(("cluster.local.", (f"127.0.0.1:{port}",)),)
    )
    try:
        search = ["api.default.svc.cluster.local.", "api.svc.cluster.local.", "api.cluster.local."]
        for _ in range(3):
            for name in search:
                assert (await ask(fport, name)).rcode() == dns.rcode.NXDOMAIN
            assert a_records(await ask(fport, "api.ns.svc.cluster.local.")) == [("10.96.0.7", 30)]
        assert counting.count == 4  # each name asked upstream once, through the stub domain
    finally:
        await server.close()
        await forwarder.close()


async def test_serve_stale_when_every_upstream_is_gone(upstream: Any) -> None:
    _counting, port, upstream_listeners = upstream
    server, forwarder, fport = await start_forwarder(upstreams=(f"127.0.0.1:{port}",), timeout=0.3)
    try:
        assert a_records(await ask(fport, "short.upstream.test.")) == [("192.0.2.81", 1)]
        await upstream_listeners.close()
        await asyncio.sleep(1.1)  # expired
        stale = await ask(fport, "short.upstream.test.")
        assert a_records(stale) == [("192.0.2.81", 1)]  # min(TTL, 30 s) per RFC 8767
        assert forwarder.counts["stale"] == 1
        assert (await ask(fport, "never.upstream.test.")).rcode() == dns.rcode.SERVFAIL
    finally:
        await server.close()
        await forwarder.close()


class Scripted(asyncio.DatagramProtocol):
    """An upstream that answers from a script: (delay, how) per query."""

    def __init__(self, behave: Callable[[dns.message.Message, tuple[str, int], Scripted], Any]) -> None:
        self.behave = behave
        self.count = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.count += 1
        query = dns.message.from_wire(data)
        asyncio.get_running_loop().create_task(self.behave(query, addr, self))

    def answer(self, query: dns.message.Message, address: str = "192.0.2.99", ttl: int = 60) -> bytes:
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(query.question[0].name, ttl, "IN", "A", address))
        return response.to_wire()


async def scripted(behave: Any) -> tuple[asyncio.DatagramTransport, Scripted, int]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: Scripted(behave), local_addr=("127.0.0.1", 0)
    )
    return transport, protocol, transport.get_extra_info("sockname")[1]


async def test_failover_to_the_next_upstream_on_silence() -> None:
    async def silent(query: Any, addr: Any, server: Scripted) -> None:
        return None

    async def prompt(query: Any, addr: Any, server: Scripted) -> None:
        assert server.transport is not None
        server.transport.sendto(server.answer(query, "192.0.2.44"), addr)

    t1, dead, port1 = await scripted(silent)
    t2, alive, port2 = await scripted(prompt)
    server, forwarder, fport = await start_forwarder(
        upstreams=(f"127.0.0.1:{port1}", f"127.0.0.1:{port2}"), timeout=0.3
    )
    try:
        assert [a for a, _ in a_records(await ask(fport, "a.example.net."))] == ["192.0.2.44"]
        assert dead.count >= 1 and alive.count == 1
        # The silent upstream is now measured slow: the next miss goes to the fast one first.
        assert [a for a, _ in a_records(await ask(fport, "b.example.net."))] == ["192.0.2.44"]
        assert dead.count == 1
    finally:
        await server.close()
        await forwarder.close()
        t1.close()
        t2.close()


async def test_a_burst_of_identical_misses_makes_one_upstream_query() -> None:
    async def slow(query: Any, addr: Any, server: Scripted) -> None:
        await asyncio.sleep(0.2)
        assert server.transport is not None
        server.transport.sendto(server.answer(query), addr)

    transport, upstream, port = await scripted(slow)
    server, forwarder, fport = await start_forwarder(upstreams=(f"127.0.0.1:{port}",))
    try:
        replies = await asyncio.gather(*(ask(fport, "burst.example.net.") for _ in range(20)))
        assert all(a_records(reply) == [("192.0.2.99", 60)] for reply in replies)
        assert upstream.count == 1 and forwarder.counts["joined"] == 19
    finally:
        await server.close()
        await forwarder.close()
        transport.close()


async def test_spoofed_and_mismatched_answers_are_ignored() -> None:
    async def spoofing(query: Any, addr: Any, server: Scripted) -> None:
        assert server.transport is not None
        wrong_id = dns.message.from_wire(server.answer(query, "203.0.113.66"))
        wrong_id.id = (query.id + 1) & 0xFFFF
        server.transport.sendto(wrong_id.to_wire(), addr)
        other = dns.message.make_query("other.example.net.", "A")
        other.id = query.id
        server.transport.sendto(server.answer(other, "203.0.113.67"), addr)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as elsewhere:  # right answer, wrong source
            elsewhere.bind(("127.0.0.1", 0))
            elsewhere.sendto(server.answer(query, "203.0.113.68"), addr)
        await asyncio.sleep(0.05)
        server.transport.sendto(server.answer(query, "192.0.2.45"), addr)

    transport, _upstream, port = await scripted(spoofing)
    server, forwarder, fport = await start_forwarder(upstreams=(f"127.0.0.1:{port}",))
    try:
        assert [a for a, _ in a_records(await ask(fport, "target.example.net."))] == ["192.0.2.45"]
    finally:
        await server.close()
        await forwarder.close()
        transport.close()


async def test_truncated_upstream_answers_are_asked_again_over_tcp(upstream: Any) -> None:
    counting, port, _ = upstream
    server, forwarder, fport = await start_forwarder(upstreams=(f"127.0.0.1:{port}",))
    try:
        udp = await ask(fport, "big.upstream.test.", "TXT")
        assert udp.flags & dns.flags.TC  # too big for the client's UDP payload either
        full = await ask(fport, "big.upstream.test.", "TXT", tcp=True)
        assert sum(len(rrset) for rrset in full.answer) == 20
        assert counting.count == 2  # UDP (truncated) then TCP, once; the client's TCP retry hit the cache
    finally:
        await server.close()
        await forwarder.close()


async def test_clients_outside_the_allow_list_are_refused(upstream: Any) -> None:
    counting, port, _ = upstream
    server, forwarder, fport = await start_forwarder(upstreams=(f"127.0.0.1:{port}",), allow=("10.0.0.0/8",))
    try:
        assert (await ask(fport, "www.upstream.test.")).rcode() == dns.rcode.REFUSED
        assert counting.count == 0
    finally:
        await server.close()
        await forwarder.close()


async def test_rate_limit_per_client_prefix_drops_the_excess(upstream: Any) -> None:
    _counting, port, _ = upstream
    server, forwarder, fport = await start_forwarder(
        upstreams=(f"127.0.0.1:{port}",), rate_limit=1.0, rate_burst=5.0
    )
    try:
        outcomes = await asyncio.gather(
            *(ask(fport, "www.upstream.test.", timeout=0.5) for _ in range(12)), return_exceptions=True
        )
        answered = [outcome for outcome in outcomes if isinstance(outcome, dns.message.Message)]
        assert len(answered) == 5  # the burst; the rest of the same /24 is dropped
        assert all(
            isinstance(outcome, dns.exception.Timeout) for outcome in outcomes if outcome not in answered
        )
        assert forwarder.counts["ratelimited"] == 7
    finally:
        await server.close()
        await forwarder.close()


def test_cache_settings_cap_ttls() -> None:
    from gslb.dns.forward.cache import parse_for_cache

    query = dns.message.make_query("x.example.", "A")
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("x.example.", 999_999, "IN", "A", "192.0.2.1"))
    parsed = parse_for_cache(response.to_wire(), CacheSettings(max_ttl=3600))
    assert parsed.lifetime == 3600
    servfail = dns.message.make_response(query)
    servfail.set_rcode(dns.rcode.SERVFAIL)
    assert parse_for_cache(servfail.to_wire(), CacheSettings()).lifetime is None


async def test_gslb_dns_forwards_when_started_with_forward(upstream: Any, redis_server: Any) -> None:
    import subprocess
    import sys

    from tests.conftest import free_port

    counting, port, _ = upstream
    dns_port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gslb",
            "dns",
            "--redis-url",
            redis_server.url,
            "--prefix",
            "fwdcli",
            "--listen",
            f"127.0.0.1:{dns_port}",
            "--forward",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                reply = await ask(dns_port, "www.upstream.test.", timeout=0.2)
                if reply.answer:  # SERVFAIL until the node has its first snapshot
                    break
            except (dns.exception.Timeout, OSError):
                pass
            await asyncio.sleep(0.1)
        else:
            process.terminate()
            raise AssertionError(f"gslb dns did not answer: {process.communicate(timeout=15)[1]}")
        assert a_records(reply) == [("192.0.2.80", 300)] and counting.count == 1
    finally:
        process.terminate()
        process.communicate(timeout=15)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--forward", "resolver.example"], "an upstream is an IP address"),
        (["--forward", "192.0.2.1:99999"], "out of range"),
        (["--stub", "cluster.local"], "SUFFIX=ADDRESS"),
        (["--forward", "192.0.2.1", "--forward-allow", "10.0.0.0/33"], "is not a network"),
        (["--forward-allow", "10.0.0.0/8"], "--forward-allow needs --forward"),
        (["--forward", "192.0.2.1", "--cache-min-ttl", "600", "--cache-max-ttl", "60"], "larger than"),
    ],
)
def test_bad_forwarding_options_are_refused_with_what_to_fix(args: list[str], message: str) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "gslb", "dns", "--listen", "127.0.0.1:0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
