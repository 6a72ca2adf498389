"""Zone transfer benchmark: how long an AXFR of a large zone takes to render, and the longest the
event loop is held by one step (what the UDP hot path can wait during a transfer); with --live, UDP
query latency of a running `gslb dns` with and without transfers of that zone going on.

Usage: tests/bench/run_xfr.sh [--records N] [--dynamic SHARE] [--live]
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.tsig
import yaml

from gslb.dns.tsig_keys import parse_tsig_keys
from gslb.dns.xfr import TransferServer
from gslb.dns.zone_policy import IndexZonePolicy
from gslb.engine import compile_policy
from gslb.engine.index import PolicyIndex
from gslb.policy import PolicySet, parse_document

ZONE = "bench.example."
SECRET = base64.b64encode(b"k" * 32).decode()


def build(records: int, dynamic_share: float) -> PolicySet:
    docs = [
        ("tenant", {"name": "bench"}),
        ("zone", {"name": ZONE, "tenant": "bench", "transfer": {"keys": ["bench-key"]}}),
        ("rrset", {"zone": ZONE, "name": "ns1", "type": "A", "values": ["192.0.2.53"]}),
        ("rrset", {"zone": ZONE, "name": "@", "type": "NS", "values": ["ns1.bench.example."]}),
    ]
    every = int(1 / dynamic_share) if dynamic_share else 0
    for index in range(records):
        name = f"host{index}"
        if every and index % every == 0:
            pools = {
                "eu": {"values": [{"value": f"192.0.2.{index % 250 + 1}"}, {"value": "192.0.2.252"}]},
                "us": {"values": [{"value": "198.51.100.1"}]},
            }
            body = {"pools": pools, "rules": [{"geos": ["EU"], "pool": "eu"}, {"pool": "us"}]}
            docs.append(("rrset", {"zone": ZONE, "name": name, "type": "A", "dynamic": body}))
        else:
            address = f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}"
            docs.append(("rrset", {"zone": ZONE, "name": name, "type": "A", "values": [address]}))
    return PolicySet.from_specs([parse_document(kind, body) for kind, body in docs], revision=1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _latencies(port: int, count: int) -> list[float]:
    query = dns.message.make_query(f"host1.{ZONE}", "A")
    out = []
    for _ in range(count):
        started = time.perf_counter()
        dns.query.udp(query, "127.0.0.1", port=port, timeout=2)
        out.append(time.perf_counter() - started)
    return sorted(out)


def _summary(values: list[float]) -> str:
    def at(share: float) -> float:
        return values[min(len(values) - 1, int(len(values) * share))] * 1000

    return f"p50 {at(0.5):.2f} ms, p99 {at(0.99):.2f} ms, max {values[-1] * 1000:.2f} ms"


def _transfer_loop(port: int, stop: Any, transfers: Any) -> None:
    key = dns.tsig.Key("bench-key.", SECRET, "hmac-sha256")
    while not stop.is_set():
        list(dns.query.xfr("127.0.0.1", ZONE, port=port, keyring=key, timeout=30))
        with transfers.get_lock():
            transfers.value += 1


def live(policy: PolicySet, records: int) -> None:
    """UDP latency of a real `gslb dns` while a thread keeps transferring the zone over TCP."""
    from gslb.importer import export_policy_yaml

    with tempfile.TemporaryDirectory() as tmp:
        policy_file = Path(tmp) / "policy.yaml"
        policy_file.write_text(export_policy_yaml(policy))
        keys = Path(tmp) / "keys.yaml"
        keys.write_text(yaml.safe_dump({"bench-key": {"algorithm": "hmac-sha256", "secret": SECRET}}))
        keys.chmod(0o600)
        data = str(Path(tmp) / "data")
        gslb = [sys.executable, "-m", "gslb"]
        subprocess.run(
            [*gslb, "import", "--data-dir", data, str(policy_file)], check=True, capture_output=True
        )
        port = _free_port()
        server = subprocess.Popen(
            [
                *gslb,
                "-q",
                "dns",
                "--data-dir",
                data,
                "--listen",
                f"127.0.0.1:{port}",
                "--tsig-keys",
                str(keys),
            ],
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    _latencies(port, 1)
                    break
                except (dns.exception.Timeout, OSError):
                    time.sleep(0.1)
            _latencies(port, 200)  # warm up
            quiet = _latencies(port, 5000)
            # The transfers run in another process: parsing them here would hold this process's GIL
            # and show up as latency that is not the server's.
            stop = multiprocessing.Event()
            transfers = multiprocessing.Value("i", 0)
            worker = multiprocessing.Process(target=_transfer_loop, args=(port, stop, transfers))
            worker.start()
            time.sleep(0.5)
            busy = _latencies(port, 5000)
            stop.set()
            worker.join()
            print(f"UDP latency, idle:                   {_summary(quiet)}")
            print(f"UDP latency, AXFRs of {records} running: {_summary(busy)} ({transfers.value} transfers)")
        finally:
            server.terminate()
            server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--dynamic", type=float, default=0.05)
    parser.add_argument("--live", action="store_true", help="also measure a running gslb dns")
    args = parser.parse_args()
    policy = build(args.records, args.dynamic)
    snapshot = compile_policy(policy, {})
    index = PolicyIndex()  # what a node's feed holds
    for key, spec in policy.docs.items():
        index.put(key, spec)
    keys = parse_tsig_keys(f"bench-key: {{algorithm: hmac-sha256, secret: {SECRET}}}")
    server = TransferServer(lambda: snapshot, IndexZonePolicy(lambda: index), keys)
    key = dns.tsig.Key("bench-key.", SECRET, "hmac-sha256")
    for label in ("first (builds the record sets)", "again (cached per zone version)"):
        query = dns.message.make_query(ZONE, "AXFR")
        query.use_tsig(key, key.name, algorithm=key.algorithm)
        wire = query.to_wire()
        started = time.perf_counter()
        longest = 0.0
        size = 0
        count = 0
        previous = started
        for message in server.responses(wire, "127.0.0.1"):
            now = time.perf_counter()
            longest = max(longest, now - previous)
            previous = now
            size += len(message)
            count += 1 if message else 0
        total = time.perf_counter() - started
        print(
            f"AXFR {label}: {args.records} record sets, {count} messages, {size / 1e6:.1f} MB, "
            f"{total * 1000:.0f} ms total, longest single step {longest * 1000:.1f} ms"
        )
    if args.live:
        live(policy, args.records)


if __name__ == "__main__":
    main()
