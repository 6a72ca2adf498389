"""Benchmark: the memory of a DNS node serving 1,000,000 static records (goal: under 1.5 GB RSS).

Run: python tests/bench/bench_memory.py [--records 1000000 --zones 1000 --values 1]

It starts a real redis-server on a loopback port, writes tenants, zones and record sets straight
through the store API in large commits (the documents are valid by construction; validating a
million records is the import benchmark's business), then starts `gslb dns` on that store and
waits until it answers the last record. It prints the node's resident memory once serving
(VmRSS) and its peak while loading (VmHWM), checks a sample of answers, and stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from ipaddress import IPv4Address
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype

from gslb.store.factory import open_store
from gslb.store.types import DocRef, Put

GOAL_BYTES = int(1.5 * 2**30)
BATCH = 20_000
TENANT = "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def zone_name(index: int) -> str:
    return f"z{index:04d}.bench."


def record_name(index: int) -> str:
    return f"host{index:06d}"


def address(zone: int, record: int, value: int) -> str:
    return str(IPv4Address(0x0A000000 + (zone * 7919 + record * 31 + value) % (1 << 24)))


async def fill(url: str, records: int, zones: int, values: int) -> None:
    store = await open_store(url, data_dir=Path("/nonexistent"), prefix="gslb")
    try:
        ops: list[Put] = [Put(DocRef("tenant", TENANT), TENANT, {"name": TENANT})]
        for zone in range(zones):
            name = zone_name(zone)
            ops.append(Put(DocRef("zone", name), TENANT, {"name": name, "tenant": TENANT, "ttl": 300}))
        await store.commit(ops, actor="bench")
        per_zone = records // zones
        ops = []
        written = 0
        started = time.monotonic()
        for zone in range(zones):
            name = zone_name(zone)
            for record in range(per_zone):
                rname = record_name(record)
                body = {
                    "zone": name,
                    "name": rname,
                    "type": "A",
                    "values": [address(zone, record, value) for value in range(values)],
                }
                ops.append(Put(DocRef("rrset", f"{name}/{rname}/A"), TENANT, body))
                if len(ops) >= BATCH:
                    await store.commit(ops, actor="bench")
                    written += len(ops)
                    ops = []
        if ops:
            await store.commit(ops, actor="bench")
            written += len(ops)
        print(f"wrote {written:,} record sets in {time.monotonic() - started:.1f} s", flush=True)
    finally:
        await store.close()


async def change_one(url: str, zone: int, record: int) -> None:
    store = await open_store(url, data_dir=Path("/nonexistent"), prefix="gslb")
    try:
        name, rname = zone_name(zone), record_name(record)
        body = {"zone": name, "name": rname, "type": "A", "values": ["192.0.2.250"]}
        await store.commit([Put(DocRef("rrset", f"{name}/{rname}/A"), TENANT, body)], actor="bench")
    finally:
        await store.close()


def update_latency(url: str, port: int, zone: int, record: int) -> float:
    """Seconds from committing a change to one record until the node answers with it."""
    qname = f"{record_name(record)}.{zone_name(zone)}"
    started = time.monotonic()
    asyncio.run(change_one(url, zone, record))
    while time.monotonic() - started < 30:
        reply = ask(port, qname)
        if [rd.address for rrset in reply.answer for rd in rrset] == ["192.0.2.250"]:
            return time.monotonic() - started
    raise RuntimeError(f"the change to {qname} was not answered within 30 s")


def status_bytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def ask(port: int, qname: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(qname, dns.rdatatype.A), "127.0.0.1", port=port, timeout=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="static record sets in all")
    parser.add_argument("--zones", type=int, default=1000)
    parser.add_argument("--values", type=int, default=1, help="addresses per record set")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="measure `gslb serve` (DNS, health checker, API in one process) instead of `gslb dns`",
    )
    args = parser.parse_args()
    redis = shutil.which("redis-server")
    if redis is None:
        print("redis-server is missing: apt-get install redis-server", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="gslb-bench-mem-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        redis_port = free_port()
        processes.append(
            subprocess.Popen(
                [
                    redis,
                    "--port",
                    str(redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(tmp),
                ],
                stdout=subprocess.DEVNULL,
            )
        )
        time.sleep(0.3)
        url = f"redis://127.0.0.1:{redis_port}/0"
        asyncio.run(fill(url, args.records, args.zones, args.values))
        dns_port = free_port()
        log = (tmp / "gslb.log").open("wb")
        started = time.monotonic()
        command = ["dns"]
        if args.serve:
            command = ["serve", "--http", f"127.0.0.1:{free_port()}", "--api", f"127.0.0.1:{free_port()}"]
        node = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gslb",
                "-q",
                *command,
                "--redis-url",
                url,
                "--listen",
                f"127.0.0.1:{dns_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(node)
        last = f"{record_name(args.records // args.zones - 1)}.{zone_name(args.zones - 1)}"
        while True:
            if node.poll() is not None:
                print((tmp / "gslb.log").read_text(), file=sys.stderr)
                return 1
            try:
                if ask(dns_port, last).answer:
                    break
            except (dns.exception.Timeout, OSError):
                pass
            if time.monotonic() - started > 900:
                print("the node did not answer within 15 minutes", file=sys.stderr)
                return 1
            time.sleep(0.5)
        ready = time.monotonic() - started
        rng = random.Random(1)
        per_zone = args.records // args.zones
        for _ in range(1000):
            zone, record = rng.randrange(args.zones), rng.randrange(per_zone)
            reply = ask(dns_port, f"{record_name(record)}.{zone_name(zone)}")
            got = sorted(rd.address for rrset in reply.answer for rd in rrset)
            assert got == sorted(address(zone, record, value) for value in range(args.values)), got
        rss = status_bytes(node.pid, "VmRSS")
        peak = status_bytes(node.pid, "VmHWM")
        latencies = sorted(update_latency(url, dns_port, 7, index) for index in range(5))
        verdict = "PASS" if rss < GOAL_BYTES else "FAIL"
        print(
            f"gslb {command[0]}: {args.records:,} record sets x {args.values} value(s) "
            f"in {args.zones:,} zones: "
            f"serving after {ready:.1f} s, RSS {rss / 2**20:,.0f} MiB, peak {peak / 2**20:,.0f} MiB "
            f"(goal RSS < {GOAL_BYTES / 2**20:,.0f} MiB: {verdict}); 1000 sampled answers correct; "
            f"one change committed -> answered: median {latencies[2] * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms (5 changes, each including its commit)"
        )
        return 0 if verdict == "PASS" else 1
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
