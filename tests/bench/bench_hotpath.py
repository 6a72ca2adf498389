"""Microbenchmark of the DNS hot path in one process: datagram in, response handed to the transport.

It drives what the UDP reader calls per datagram (parse, snapshot lookup, geo, selection,
metrics) and keeps the last response, so it measures what a query costs in Python, without the
kernel and event-loop share that dnsperf also sees. Use it to see where a
change moves the per-query cost; tests/bench/run_dns.sh gives the end-to-end figures.

Run: python tests/bench/bench_hotpath.py [--queries 200000]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.edns
import dns.message
import dns.rdatatype

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dns import POLICY

from geodata.build import build_mmdb_from_csv, demo_csv_path
from geodata.lookup import GeoDatabase
from gslb.dns.metrics import CountingAnswerer, QueryMetrics
from gslb.dns.responder import Responder
from gslb.engine import compile_policy
from gslb.importer.native import load_policy_yaml
from gslb.policy import PolicySet


class KeepLast:
    """A transport that keeps only the last datagram it was asked to send."""

    def __init__(self) -> None:
        self.last: bytes | None = None

    def sendto(self, data: bytes, addr: Any = None) -> None:
        self.last = data


def wire(qname: str, ecs: str | None = None, prefix: int = 24) -> bytes:
    options = [dns.edns.ECSOption(ecs, prefix)] if ecs else []
    query = dns.message.make_query(qname, dns.rdatatype.A, use_edns=0, payload=1232, options=options)
    return query.to_wire()


def time_per_query(
    receive: Callable[[bytes, tuple[str, int]], None], packets: list[tuple[bytes, tuple[str, int]]], n: int
) -> float:
    """Best of three runs, in microseconds per query."""
    best = float("inf")
    count = len(packets)
    for _ in range(3):
        gc.collect()
        started = time.perf_counter()
        for i in range(n):
            data, addr = packets[i % count]
            receive(data, addr)
        best = min(best, (time.perf_counter() - started) / n)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200_000)
    args = parser.parse_args()

    imported = load_policy_yaml(POLICY, filename="bench.yaml")
    snapshot = compile_policy(PolicySet.from_specs(imported.specs, revision=1), {}, revision=1)
    with tempfile.TemporaryDirectory() as tmp:
        mmdb = Path(tmp) / "demo.mmdb"
        build_mmdb_from_csv(demo_csv_path(), mmdb)
        geo = GeoDatabase.open(mmdb)
        responder = Responder(lambda: snapshot, geo=geo)
        answer = CountingAnswerer(responder, QueryMetrics()).answer
        transport = KeepLast()

        def receive(data: bytes, addr: tuple[str, int]) -> None:  # what UdpDnsReader does per datagram
            response = answer(data, addr[0], tcp=False)
            if response is not None:
                transport.sendto(response, addr)

        rng = random.Random(1)
        ecs_clients = [f"127.0.{rng.randrange(0, 8)}.{0}" for _ in range(64)]
        mixes = {
            "static (www A, EDNS)": [(wire("www.bench.example."), ("127.0.0.1", 5300))],
            "geo-us (geo A, one resolver)": [(wire("geo.bench.example."), ("127.0.0.1", 5300))],
            "geo-eu (geo A, one resolver)": [(wire("geo.bench.example."), ("127.0.1.1", 5300))],
            "geo ECS (64 client subnets)": [
                (wire("geo.bench.example.", ecs), ("127.0.0.1", 5300)) for ecs in ecs_clients
            ],
            "geo (1000 resolver addresses)": [
                (wire("geo.bench.example."), (f"127.0.{rng.randrange(0, 8)}.{rng.randrange(1, 255)}", 5300))
                for _ in range(1000)
            ],
        }
        for name, packets in mixes.items():
            receive(*packets[0])
            assert transport.last is not None and dns.message.from_wire(transport.last).answer, name
            micros = time_per_query(receive, packets, args.queries)
            print(f"{name:34s} {micros:6.2f} µs/query  ({1e6 / micros:>9,.0f} q/s in Python alone)")


if __name__ == "__main__":
    main()
