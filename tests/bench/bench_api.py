"""Benchmark: the REST API over real HTTP on loopback, against a redis-server this script starts.

Run: tests/bench/run_api.sh [--zones 100 --records 50 --gets 2000 --puts 300 --concurrency 10]

Measures reads (GET of a record set, `concurrency` clients at once) and validated writes (PUT with
If-Match, one at a time, each with its audit entry) on a store of `zones` x `records` record sets:
a write validates the zones it touches, so its latency depends on zone size, not store size.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import aiohttp
from aiohttp import web

from gslb.api.app import create_app
from gslb.api.context import ApiSettings
from gslb.api.rbac import Role
from gslb.api.tokens import new_record, put_op
from gslb.policy import parse_document
from gslb.store import KeySpace, PolicyStore, Store
from gslb.store.factory import redis_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(args: argparse.Namespace, redis_url: str) -> None:
    store = Store(redis_client(redis_url), keys=KeySpace(f"bench{uuid.uuid4().hex[:8]}"))
    specs = [parse_document("tenant", {"name": "acme"})]
    for z in range(args.zones):
        zone = f"z{z}.example."
        specs.append(parse_document("zone", {"name": zone, "tenant": "acme"}))
        specs.append(
            parse_document("rrset", {"zone": zone, "name": "@", "type": "NS", "values": ["ns1.example."]})
        )
        for r in range(args.records):
            body = {"zone": zone, "name": f"h{r}", "type": "A", "values": [f"192.0.2.{r % 250 + 1}"]}
            specs.append(parse_document("rrset", body))
    await PolicyStore(store).apply(specs)
    record, token = new_record(
        role=Role.ADMIN, tenant=None, zones=None, read_only=False, description="bench", created_by="bench"
    )
    await store.commit([put_op(record)])
    runner = web.AppRunner(create_app(store, settings=ApiSettings(rate=1e9, burst=10**9)), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/v1/tenants/acme/zones/z0.example./rrsets/h1/A"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:

        async def get() -> None:
            async with session.get(url) as response:
                await response.read()
                assert response.status == 200

        started = time.perf_counter()
        for _ in range(args.gets // args.concurrency):
            await asyncio.gather(*(get() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - started
        rate = args.gets / elapsed
        print(f"GET record set: {rate:,.0f} requests/s with {args.concurrency} concurrent clients")
        latencies = []
        for i in range(args.puts):
            async with session.get(url) as response:
                etag = response.headers["ETag"]
            started = time.perf_counter()
            body = {"values": [f"198.51.100.{i % 250 + 1}"]}
            async with session.put(url, json=body, headers={"If-Match": etag}) as response:
                await response.read()
                assert response.status == 200
            latencies.append(time.perf_counter() - started)
        print(
            f"PUT record set (validated, audited): p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms over {args.puts}"
        )
    await runner.cleanup()
    await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zones", type=int, default=100)
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--gets", type=int, default=2000)
    parser.add_argument("--puts", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is not installed (Debian package redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.3)
            print(f"store: {args.zones} zones x {args.records + 1} record sets")
            asyncio.run(run(args, f"redis://127.0.0.1:{port}/0"))
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
