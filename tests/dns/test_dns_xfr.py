"""Zone transfers out of a running `gslb dns`, over real sockets: AXFR/IXFR with TSIG, refusals,
content equal to the policy (static + fail-open dynamic), serials and NOTIFY on change."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.xfr
import pytest

from gslb.policy import parse_document
from gslb.store import DocRef, Put
from tests.conftest import free_port
from tests.dns.xfr_support import (
    EXPECTED,
    OTHER_KEY,
    SECRETS,
    XFR_KEY,
    ZONE,
    NotifyListener,
    axfr,
    key_file,
    notify_listener,
    policy_store_with,
    policy_yaml,
    raw_tcp,
    soa_serial,
    start_gslb_dns,
    stop_gslb_dns,
    stored_policy,
    transferred,
)

__all__ = ["notify_listener"]  # the fixture, imported for pytest


@pytest.fixture
async def xfr_server(redis_server: Any, tmp_path: Path, notify_listener: NotifyListener) -> Any:
    policy_store, store, prefix = await policy_store_with(
        redis_server.url, policy_yaml([f"127.0.0.1:{notify_listener.port}"])
    )
    process, port = start_gslb_dns(redis_server.url, prefix, key_file(tmp_path / "keys.conf"))
    yield port, policy_store, store, notify_listener
    err = stop_gslb_dns(process)
    assert SECRETS["xfr-key"] not in err, "secrets never reach the log"
    await store.close()


HTTP_PORT: dict[int, int] = {}  # DNS port -> status endpoint port of the shared server


@pytest.fixture(scope="module")
def shared_server(redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One `gslb dns` for the tests that only read: each server start costs about a second."""
    prefix = stored_policy(redis_server.url, policy_yaml([]))
    keys = key_file(tmp_path_factory.mktemp("keys") / "keys.conf")
    http = free_port()
    process, port = start_gslb_dns(redis_server.url, prefix, keys, "--http", f"127.0.0.1:{http}")
    HTTP_PORT[port] = http
    yield port
    err = stop_gslb_dns(process)
    assert SECRETS["xfr-key"] not in err and SECRETS["other-key"] not in err, "secrets never reach the log"


def test_axfr_with_key_carries_static_records_and_fail_open_dynamic_names(shared_server: int) -> None:
    port = shared_server
    messages = axfr(port, key=XFR_KEY)
    assert all(message.had_tsig for message in messages), "every message is signed (RFC 8945 5.3.1)"
    assert all(message.flags & dns.flags.AA for message in messages)
    soas, content = transferred(messages)
    assert len(soas) == 2 and soas[0] == soas[-1], "SOA first and last"
    first = messages[0].answer[0]
    assert first.rdtype == dns.rdatatype.SOA and messages[-1].answer[-1].rdtype == dns.rdatatype.SOA
    assert soas[0].serial == soa_serial(port)
    assert content == EXPECTED


def test_transfer_is_refused_without_an_allowed_key(shared_server: int) -> None:
    port = shared_server
    with pytest.raises(dns.xfr.TransferError) as unsigned:
        axfr(port)
    assert unsigned.value.rcode == dns.rcode.REFUSED
    with pytest.raises(dns.xfr.TransferError) as not_listed:
        axfr(port, key=OTHER_KEY)  # a key the node knows, but not one of this zone's
    assert not_listed.value.rcode == dns.rcode.REFUSED
    with pytest.raises(dns.xfr.TransferError) as closed:
        axfr(port, "closed.example.", key=XFR_KEY)  # a zone without `transfer:`
    assert closed.value.rcode == dns.rcode.REFUSED
    # The other zone lists other-key: it transfers with that key only.
    soas, content = transferred(axfr(port, "other.example.", key=OTHER_KEY))
    assert len(soas) == 2 and content == {("other.example.", "NS"): {"ns1.xfr.example."}}


def test_bad_tsig_gets_notauth_with_the_tsig_error(shared_server: int) -> None:
    port = shared_server
    wrong_secret = dns.tsig.Key("xfr-key.", "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldA==", "hmac-sha256")
    unknown = dns.tsig.Key("nobody-key.", "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldA==", "hmac-sha256")
    wrong_algorithm = dns.tsig.Key("xfr-key.", XFR_KEY.secret, "hmac-sha512")
    for key, error in (
        (wrong_secret, dns.rcode.BADSIG),
        (unknown, dns.rcode.BADKEY),
        (wrong_algorithm, dns.rcode.BADKEY),
    ):
        query = dns.message.make_query(ZONE, "AXFR")
        query.use_tsig(key, key.name, algorithm=key.algorithm)
        response = raw_tcp(port, query)
        assert response.rcode() == dns.rcode.NOTAUTH, key.name
        assert response.tsig_error == error
        assert response.mac == b"", "BADKEY/BADSIG answers are unsigned (RFC 8945 5.3.2)"
        assert not response.answer
        # dnspython's own client reports the peer's verdict
        with pytest.raises(dns.tsig.PeerError):
            axfr(port, key=key)

    skewed = dns.message.make_query(ZONE, "AXFR")
    skewed.use_tsig(XFR_KEY, XFR_KEY.name, algorithm=XFR_KEY.algorithm)
    with mock.patch("time.time", return_value=time.time() - 3600):  # a client clock an hour slow
        wire = skewed.to_wire()
    response = raw_tcp(port, wire)
    assert response.rcode() == dns.rcode.NOTAUTH and response.tsig_error == dns.rcode.BADTIME
    assert response.mac, "BADTIME answers are signed"
    server_time = int.from_bytes(response.tsig[0].other, "big")
    assert abs(server_time - time.time()) < 60, "other data carries the server's clock"


def test_names_that_are_not_zones_get_notauth_and_udp_is_not_for_transfers(shared_server: int) -> None:
    port = shared_server
    for name in ("www.xfr.example.", "example.net."):
        with pytest.raises(dns.xfr.TransferError) as excinfo:
            axfr(port, name, key=XFR_KEY)
        assert excinfo.value.rcode == dns.rcode.NOTAUTH
    udp = dns.query.udp(dns.message.make_query(ZONE, "AXFR"), "127.0.0.1", port=port, timeout=2)
    assert udp.rcode() == dns.rcode.NOTIMP and not udp.answer


def test_ixfr_answers_current_soa_or_the_whole_zone(shared_server: int) -> None:
    port = shared_server
    serial = soa_serial(port)
    current = dns.message.make_query(ZONE, "IXFR")
    soa_text = f"ns1.xfr.example. hostmaster.xfr.example. {serial} 1 1 1 1"
    soa = dns.rrset.from_text(ZONE, 0, "IN", "SOA", soa_text)
    current.authority.append(soa)
    current.use_tsig(XFR_KEY, XFR_KEY.name, algorithm=XFR_KEY.algorithm)
    response = raw_tcp(port, current)
    assert response.rcode() == dns.rcode.NOERROR
    assert [rrset.rdtype for rrset in response.answer] == [dns.rdatatype.SOA]
    assert response.answer[0][0].serial == serial, "up to date: the current SOA alone (RFC 1995 2)"

    messages = axfr(port, key=XFR_KEY, rdtype=dns.rdatatype.IXFR, serial=serial - 1)
    soas, content = transferred(messages)
    assert [item.serial for item in soas] == [serial, serial], "older: the whole zone, AXFR-style"
    assert content == EXPECTED


def test_pipelined_queries_after_a_transfer_are_answered_in_order(shared_server: int) -> None:
    port = shared_server
    import socket

    transfer = dns.message.make_query(ZONE, "AXFR")
    transfer.use_tsig(XFR_KEY, XFR_KEY.name, algorithm=XFR_KEY.algorithm)
    plain = dns.message.make_query("mail.xfr.example.", "A")
    wires = [transfer.to_wire(), plain.to_wire()]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"".join(len(wire).to_bytes(2, "big") + wire for wire in wires))
        reader = sock.makefile("rb")
        ids = []
        while True:
            length = int.from_bytes(reader.read(2), "big")
            message = dns.message.from_wire(reader.read(length), keyring=lambda _m, _n: False)
            ids.append(message.id)
            if message.id == plain.id:
                assert [item.to_text() for item in message.answer[0]] == ["192.0.2.25"]
                break
    assert set(ids[:-1]) == {transfer.id} and ids[-1] == plain.id


async def test_change_raises_the_serial_and_notifies_secondaries(xfr_server: Any) -> None:
    port, policy_store, store, listener = xfr_server
    before = soa_serial(port)
    # On start every zone with also_notify is announced once, signed with its first key.
    listener.wait_for(lambda item: item == (ZONE, before, "xfr-key."))

    started = time.monotonic()
    await policy_store.apply(
        [parse_document("rrset", {"zone": ZONE, "name": "new", "type": "A", "values": ["192.0.2.200"]})]
    )
    _zone, serial, _key = listener.wait_for(lambda item: item[0] == ZONE and item[1] != before)
    notified_after = time.monotonic() - started
    assert serial > before, "the serial follows the store revision upwards"
    assert soa_serial(port) == serial
    soas, content = transferred(axfr(port, key=XFR_KEY))
    assert soas[0].serial == serial
    assert content[("new.xfr.example.", "A")] == {"192.0.2.200"}
    print(f"commit -> NOTIFY at the secondary: {notified_after * 1000:.1f} ms")

    # Health changes the answers, not what is transferred: same serial, no NOTIFY.
    count = len(listener.received)
    await store.commit(
        [
            Put(DocRef("health", f"acme/web/{address}"), "acme", {"state": "down"})
            for address in ("192.0.2.10", "192.0.2.12")
        ]
    )
    deadline = time.monotonic() + 5
    while True:
        www_query = dns.message.make_query("www.xfr.example.", "A")
        www = dns.query.udp(www_query, "127.0.0.1", port=port, timeout=2)
        if [item.to_text() for item in www.answer[0]] == ["198.51.100.10"]:
            break  # the eu pool is down for this node: its answers fell back to us
        assert time.monotonic() < deadline, "the health change never reached the answers"
        time.sleep(0.02)
    time.sleep(0.3)
    assert soa_serial(port) == serial
    assert len(listener.received) == count, listener.received[count:]


def test_transfers_are_counted_in_metrics(shared_server: int) -> None:
    import urllib.request

    port = shared_server
    axfr(port, key=XFR_KEY)
    with pytest.raises(dns.xfr.TransferError):
        axfr(port)
    with urllib.request.urlopen(f"http://127.0.0.1:{HTTP_PORT[port]}/metrics", timeout=5) as response:
        text = response.read().decode()
    counts = {
        line.split("{", 1)[1].split("}", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("gslb_dns_transfer_requests_total{")
    }
    assert counts['result="transferred",zone="xfr.example."'] >= 1
    assert counts['result="refused",zone="xfr.example."'] >= 1
    assert "gslb_dns_notify_total" in text


@pytest.fixture(scope="module")
def big_zone_server(redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    prefix = stored_policy(redis_server.url, policy_yaml([], bulk=3000))
    keys = key_file(tmp_path_factory.mktemp("keys") / "keys.conf")
    process, port = start_gslb_dns(redis_server.url, prefix, keys)
    yield port
    stop_gslb_dns(process)


def test_large_zone_is_split_into_signed_messages_under_64k(big_zone_server: int) -> None:
    port = big_zone_server
    started = time.perf_counter()
    messages = axfr(port, key=XFR_KEY)
    elapsed = time.perf_counter() - started
    assert len(messages) > 2
    assert all(len(message.to_wire()) <= 65535 for message in messages)
    assert all(message.had_tsig for message in messages)
    assert messages[0].question and not messages[1].question, "question in the first message only"
    soas, content = transferred(messages)
    assert len(soas) == 2
    bulk = {key: value for key, value in content.items() if key[0].startswith("bulk")}
    assert len(bulk) == 3000
    assert bulk[("bulk2999.xfr.example.", "TXT")] == {'"' + "filler-" * 12 + '2999"'}
    size = sum(len(message.to_wire()) for message in messages)
    print(
        f"AXFR of {len(content)} record sets: {len(messages)} messages, {size} octets, "
        f"{elapsed * 1000:.0f} ms"
    )


def test_a_client_leaving_mid_transfer_costs_nothing_but_its_transfer(big_zone_server: int) -> None:
    import socket

    port = big_zone_server
    for _ in range(3):
        query = dns.message.make_query(ZONE, "AXFR")
        query.use_tsig(XFR_KEY, XFR_KEY.name, algorithm=XFR_KEY.algorithm)
        wire = query.to_wire()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(len(wire).to_bytes(2, "big") + wire)
            assert len(sock.recv(1024)) > 0  # the transfer started; hang up in the middle of it
    assert soa_serial(port) > 0
    assert len(axfr(port, key=XFR_KEY)) > 2, "later transfers still complete"
