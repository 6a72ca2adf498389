"""`gslb dns` over real sockets: UDP and TCP answers, live updates from the store, SO_REUSEPORT workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode
import pytest

from geodata.build import build_mmdb_from_csv, demo_csv_path
from gslb.demo import DEMO_POLICY_YAML
from gslb.importer import load_policy_yaml
from gslb.policy import parse_document
from gslb.store import KeySpace, PolicyStore, Store
from gslb.store.factory import redis_client
from tests.conftest import free_port


@pytest.fixture
def geoip(tmp_path: Path) -> Path:
    path = tmp_path / "demo.mmdb"
    build_mmdb_from_csv(demo_csv_path(), path)
    return path


@pytest.fixture
async def policy_store(redis_server: Any) -> Any:
    prefix = f"dns{uuid.uuid4().hex[:8]}"
    store = Store(redis_client(redis_server.url), keys=KeySpace(prefix))
    policy_store = PolicyStore(store)
    imported = load_policy_yaml(DEMO_POLICY_YAML, filename="demo")
    await policy_store.apply(list(imported.specs))
    yield policy_store, prefix
    await store.close()


def start_dns(redis_url: str, prefix: str, port: int, geoip: Path, *extra: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gslb",
            "dns",
            "--redis-url",
            redis_url,
            "--prefix",
            prefix,
            "--listen",
            f"127.0.0.1:{port}",
            "--geoip",
            str(geoip),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            dns.query.udp(
                dns.message.make_query("www.demo.example.", "A"), "127.0.0.1", port=port, timeout=0.3
            )
            return process
        except (dns.exception.Timeout, OSError):
            if process.poll() is not None:
                raise RuntimeError(f"gslb dns exited: {process.communicate()[1]}") from None
    process.kill()
    raise RuntimeError(f"gslb dns did not answer: {process.communicate()[1]}")


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    return err


@pytest.fixture
def server(redis_server: Any, policy_store: Any, geoip: Path) -> Iterator[tuple[int, Any]]:
    store, prefix = policy_store
    port = free_port()
    process = start_dns(redis_server.url, prefix, port, geoip)
    yield port, store
    stop(process)


def query(
    port: int, name: str, rdtype: str = "A", *, tcp: bool = False, **kwargs: Any
) -> dns.message.Message:
    message = dns.message.make_query(name, rdtype, **kwargs)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(message, "127.0.0.1", port=port, timeout=2)


def addresses(response: dns.message.Message) -> list[str]:
    return sorted(item.to_text() for rrset in response.answer for item in rrset)


async def test_udp_and_tcp_answers(server: tuple[int, Any]) -> None:
    port, _store = server
    for tcp in (False, True):
        response = query(port, "WwW.Demo.Example.", tcp=tcp)
        assert response.rcode() == dns.rcode.NOERROR
        assert response.flags & dns.flags.AA
        assert addresses(response) == ["192.0.2.10", "192.0.2.11"]
        assert response.question[0].name.to_text() == "WwW.Demo.Example.", "case is preserved"
        missing = query(port, "nope.demo.example.", tcp=tcp)
        assert missing.rcode() == dns.rcode.NXDOMAIN and missing.authority[0].rdtype == dns.rdatatype.SOA
    assert query(port, "example.net.").rcode() == dns.rcode.REFUSED


async def test_geo_answer_by_ecs(server: tuple[int, Any]) -> None:
    port, _store = server
    import dns.edns

    berlin = dns.edns.ECSOption("198.51.100.0", 24)
    response = query(port, "app.demo.example.", use_edns=0, options=[berlin])
    assert addresses(response) == ["198.51.100.1"]
    ecs = [option for option in response.options if isinstance(option, dns.edns.ECSOption)]
    assert ecs and ecs[0].scopelen == 24
    tokyo = dns.edns.ECSOption("203.0.113.0", 24)
    assert addresses(query(port, "app.demo.example.", use_edns=0, options=[tokyo])) == ["203.0.113.1"]


async def test_store_change_visible_within_100ms(server: tuple[int, Any]) -> None:
    port, store = server
    latencies = []
    for i in range(1, 31):
        spec = parse_document(
            "rrset", {"zone": "demo.example.", "name": "live", "type": "A", "values": [f"192.0.2.{100 + i}"]}
        )
        started = time.perf_counter()
        await store.apply([spec])
        while addresses(query(port, "live.demo.example.")) != [f"192.0.2.{100 + i}"]:
            assert time.perf_counter() - started < 2, "change not visible after 2 s"
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    print(f"store write -> DNS answer: p50 {latencies[15] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    assert latencies[-1] < 0.100


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers need fork")
async def test_workers_share_the_port(redis_server: Any, policy_store: Any, geoip: Path) -> None:
    _store, prefix = policy_store
    port = free_port()
    process = start_dns(redis_server.url, prefix, port, geoip, "--workers", "2")
    try:
        for _ in range(50):
            assert addresses(query(port, "www.demo.example.")) == ["192.0.2.10", "192.0.2.11"]
        children = subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 2
    finally:
        stop(process)


async def test_metrics_count_queries(redis_server: Any, policy_store: Any, geoip: Path) -> None:
    import urllib.request

    _store, prefix = policy_store
    port, http = free_port(), free_port()
    process = start_dns(redis_server.url, prefix, port, geoip, "--http", f"127.0.0.1:{http}")
    try:
        for _ in range(3):
            query(port, "www.demo.example.")
        query(port, "nope.demo.example.", tcp=True)
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        stop(process)
    www = 'gslb_dns_queries_total{pool="",qtype="A",rcode="NOERROR",transport="udp",zone="demo.example."}'
    # start_dns's readiness probe asked once more for www over UDP.
    assert f"{www} 4.0" in text, text
    assert 'qtype="A",rcode="NXDOMAIN",transport="tcp",zone="demo.example."} 1.0' in text
    assert "gslb_dns_answer_seconds_count 1.0" in text  # one query in 16 is timed, from the first
    assert "gslb_snapshot_revision" in text


async def test_running_server_survives_garbage(server: tuple[int, Any]) -> None:
    import random
    import socket

    port, _store = server
    rng = random.Random(7)
    valid = dns.message.make_query("www.demo.example.", "A", use_edns=0).to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.01)
        for index in range(1000):
            if index % 2:
                packet = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 64)))
            else:
                mutated = bytearray(valid)
                for _ in range(rng.randrange(1, 6)):
                    mutated[rng.randrange(len(mutated))] = rng.getrandbits(8)
                packet = bytes(mutated[: rng.randrange(1, len(mutated) + 1)])
            sock.sendto(packet, ("127.0.0.1", port))
            try:
                reply = sock.recv(65535)
            except TimeoutError:
                continue
            # An answer to garbage is FORMERR/NOTIMP-sized or a real answer to a still-valid query.
            assert len(reply) <= max(len(packet), 512)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(b"\x00\x05\xff\xff\xff\xff\xff" + b"\xff\xff" + bytes(100))
    assert addresses(query(port, "www.demo.example.")) == ["192.0.2.10", "192.0.2.11"]
    assert addresses(query(port, "www.demo.example.", tcp=True)) == ["192.0.2.10", "192.0.2.11"]


async def test_query_log_records_every_answered_query(
    redis_server: Any, policy_store: Any, geoip: Path, tmp_path: Path
) -> None:
    import json

    _store, prefix = policy_store
    port = free_port()
    log_path = tmp_path / "logs" / "queries.jsonl"
    process = start_dns(redis_server.url, prefix, port, geoip, "--query-log", str(log_path))
    try:
        query(port, "WWW.demo.example.")
        query(port, "nope.demo.example.", "AAAA", tcp=True)
        query(port, "www.not-hosted.example.")
    finally:
        stop(process)  # pending lines are written on shutdown
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    seen = [(line["name"], line["type"], line["rcode"], line["transport"], line["zone"]) for line in lines]
    # The first lines are start_dns's readiness probes for www.demo.example. A.
    assert seen[-3:] == [
        ("www.demo.example.", "A", "NOERROR", "udp", "demo.example."),
        ("nope.demo.example.", "AAAA", "NXDOMAIN", "tcp", "demo.example."),
        ("www.not-hosted.example.", "A", "REFUSED", "udp", None),
    ]
    assert all(line["client"] == "127.0.0.1" and line["ts"].endswith("Z") for line in lines)


def test_query_log_in_an_unwritable_place_is_refused_at_start(redis_server: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gslb",
            "dns",
            "--redis-url",
            redis_server.url,
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--query-log",
            str(blocker / "queries.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "cannot open the query log" in result.stderr and "--query-log" in result.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers need fork")
@pytest.mark.parametrize("delay", [0.0, 0.1])
async def test_workers_stopped_while_starting_exit_cleanly(
    redis_server: Any, policy_store: Any, geoip: Path, delay: float
) -> None:
    _store, prefix = policy_store
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gslb",
            "dns",
            "--redis-url",
            redis_server.url,
            "--prefix",
            prefix,
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--geoip",
            str(geoip),
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 15
    while (
        len(subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split())
        < 2
    ):
        assert time.monotonic() < deadline and process.poll() is None, "no workers forked"
        time.sleep(0.005)
    time.sleep(delay)  # the workers are still starting: their own signal handlers may not exist yet
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
