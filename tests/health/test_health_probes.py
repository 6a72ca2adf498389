"""Each probe type against real servers on loopback; bad check definitions refused at validation."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gslb.policy import PolicyError, PolicySet, parse_document
from health.probes.base import probe
from health.probes.common import ProbeFailed
from health.probes.http import judge
from health.targets import Target, plan_targets
from tests.conftest import free_port
from tests.health.backends import DnsBackend, TcpListener, UdpEcho


def target(body: dict[str, Any], host: str = "127.0.0.1", port: int | None = None) -> Target:
    check = parse_document("check", {"tenant": "acme", "name": "c", "interval": 1, "timeout": 0.3, **body})
    return Target(f"acme/c/{host}", "acme", "c", check, host, port or check.port)


async def test_tcp_listener_that_goes_away() -> None:
    port = free_port()
    listener = await TcpListener("127.0.0.1", port).start()
    check = target({"type": "tcp", "port": port})
    assert (await probe(check)).ok
    await listener.stop()
    outcome = await probe(check)
    assert not outcome.ok and "refused" in outcome.reason.lower()


async def test_dns_probe_rcode_and_answer() -> None:
    port = free_port()
    loop = asyncio.get_running_loop()
    server = DnsBackend()
    transport, _ = await loop.create_datagram_endpoint(lambda: server, local_addr=("127.0.0.1", port))
    try:
        base = {"type": "dns", "port": port, "query_name": "probe.example."}
        assert (await probe(target(base))).ok
        assert (await probe(target({**base, "expect_answer": "192.0.2.53"}))).ok
        wrong = await probe(target({**base, "expect_answer": "192.0.2.54"}))
        assert not wrong.ok and "no answer equals '192.0.2.54'" in wrong.reason
        server.mode = "servfail"
        failed = await probe(target(base))
        assert not failed.ok and failed.reason == "rcode SERVFAIL, expected NOERROR"
    finally:
        transport.close()
    silent = await probe(target({"type": "dns", "port": free_port(), "query_name": "probe.example."}))
    assert not silent.ok


async def test_udp_send_expect() -> None:
    port = free_port()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(UdpEcho, local_addr=("127.0.0.1", port))
    try:
        assert (await probe(target({"type": "udp", "port": port, "send": "ping", "expect": "pong:ping"}))).ok
        assert (await probe(target({"type": "udp", "port": port, "send": "70696e67", "send_hex": True}))).ok
        wrong = await probe(target({"type": "udp", "port": port, "send": "ping", "expect": "nope"}))
        assert not wrong.ok and "does not contain 'nope'" in wrong.reason
    finally:
        transport.close()
    assert not (await probe(target({"type": "udp", "port": free_port(), "send": "ping"}))).ok


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", None),
        (b"HTTP/1.1 503 X\r\n\r\n", "status 503, expected 200"),
        (b"SSH-2.0-OpenSSH\r\n", "not an HTTP response"),
        (b"", "closed without a response"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", None),
    ],
)
def test_http_judge(response: bytes, error: str | None) -> None:
    check = parse_document(
        "check", {"tenant": "a", "name": "c", "type": "http", "expect_body_regex": "^hel+o$"}
    )
    if error is None:
        judge(check, response)
    else:
        with pytest.raises(ProbeFailed, match=error):
            judge(check, response)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "tcp", "port": 0}, "port: Input should be greater than or equal to 1"),
        ({"type": "http", "port": 0}, "port: Input should be greater than or equal to 1"),
        ({"type": "tcp", "port": 80, "interval": -1}, "interval: Input should be greater than 0"),
        ({"type": "http", "interval": 1, "timeout": 5}, "timeout (5.0s) is longer than interval (1.0s)"),
        ({"type": "smtp"}, "unknown check type 'smtp'; use one of tcp, http, https, dns, udp"),
        ({"type": "tcp"}, "port: required field 'port' is missing"),
        ({"type": "dns"}, "query_name: required field 'query_name' is missing"),
        ({"type": "http", "rise": 0}, "rise: Input should be greater than or equal to 1"),
        ({"type": "http", "quorum": "most"}, "quorum"),
        ({"type": "dns", "query_name": "x.test.", "query_type": "FOO"}, "unknown query type 'FOO'"),
        ({"type": "http", "tls_verify": False}, "tls_sni and tls_verify apply to type 'https' only"),
        ({"type": "udp", "port": 7, "send": "zz", "send_hex": True}, "send is not valid hex"),
    ],
)
def test_bad_check_definitions_are_refused_clearly(body: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_document("check", {"tenant": "acme", "name": "web", **body}, doc="check:acme/web")
    assert message in str(caught.value)


def test_plan_targets_probe_address_port_and_valve_groups() -> None:
    specs = [
        parse_document("tenant", {"name": "acme"}),
        parse_document("zone", {"name": "example.test.", "tenant": "acme"}),
        parse_document("check", {"tenant": "acme", "name": "web", "type": "http", "interval": 2}),
        parse_document("check", {"tenant": "acme", "name": "db", "type": "tcp", "port": 5432}),
        parse_document(
            "rrset",
            {
                "zone": "example.test.",
                "name": "www",
                "type": "A",
                "dynamic": {
                    "pools": {
                        "p": {
                            "values": [
                                {"value": "192.0.2.1", "health_check": "web", "probe": "10.0.0.1"},
                                {"value": "192.0.2.2", "health_check": "web"},
                                {"value": "192.0.2.3"},
                            ]
                        }
                    },
                    "rules": [{"pool": "p"}],
                },
            },
        ),
        parse_document(
            "upstream",
            {
                "tenant": "acme",
                "name": "api",
                "members": [{"address": "10.0.0.9", "port": 8443, "health_check": "web"}],
            },
        ),
        parse_document(
            "vip",
            {
                "tenant": "acme",
                "name": "v",
                "address": "192.0.2.80",
                "port": 5432,
                "reals": [{"address": "10.0.0.7", "health_check": "db"}],
            },
        ),
    ]
    plan = plan_targets(PolicySet.from_specs(specs))
    assert {key: (t.host, t.port) for key, t in plan.targets.items()} == {
        "acme/web/10.0.0.1": ("10.0.0.1", 80),  # the probe address, not the answered value
        "acme/web/192.0.2.2": ("192.0.2.2", 80),
        "acme/web/10.0.0.9": ("10.0.0.9", 8443),  # the upstream member's port when the check has none
        "acme/db/10.0.0.7": ("10.0.0.7", 5432),
    }
    assert [(g.name, g.keys, g.on_all_down, g.window) for g in plan.groups] == [
        ("rrset:example.test./www/A", ("acme/web/10.0.0.1", "acme/web/192.0.2.2"), "fail_open", 4.0)
    ]


def self_signed(tmp_path: Path) -> ssl.SSLContext:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=backend.test",
            "-addext",
            "subjectAltName=DNS:backend.test,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


async def test_https_sni_and_verification(tmp_path: Path) -> None:
    context = self_signed(tmp_path)
    seen_sni: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: seen_sni.append(name)  # type: ignore[assignment,misc]
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.close()

    port = free_port()
    server = await asyncio.start_server(handle, "127.0.0.1", port, ssl=context)
    try:
        base = {"type": "https", "port": port, "expect_status": [204], "tls_sni": "backend.test"}
        unverified = await probe(target({**base, "tls_verify": False, "host": "www.backend.test"}))
        assert unverified.ok, unverified.reason
        assert seen_sni == ["backend.test"]
        assert requests[0].startswith(b"GET / HTTP/1.1\r\nHost: www.backend.test\r\n")
        verified = await probe(target(base))  # self-signed: not trusted by the system store
        assert not verified.ok and "TLS certificate not accepted: self-signed certificate" in verified.reason
    finally:
        server.close()
