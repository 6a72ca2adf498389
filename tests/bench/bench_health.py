"""How many HTTP checks per second one core sustains against a local backend.

The backend (a minimal asyncio HTTP server on uvloop) runs in a child process pinned to another core;
the checker side runs the real Scheduler and HTTP probe on one core, with more targets than it can
serve, for a fixed time. Goal: >= 5,000 checks/s (10,000 endpoints at a 2 s interval).
Usage: tests/bench/run_health.sh [--seconds S] [--targets N] [--interval S] [--in-flight N] [--aiohttp]
The default offers more checks than one core can do, so the figure is the ceiling; with
--targets 10000 --interval 2 it shows whether the goal load is sustained.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from gslb.policy import parse_document
from health.probes.base import ProbeOutcome, probe
from health.scheduler import Scheduler
from health.targets import Target

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"


class _Backend(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if b"\r\n\r\n" in data:
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]
            self.transport.close()


def serve(port: int, ready: object) -> None:
    import uvloop

    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
        os.sched_setaffinity(0, {1})

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Backend, "127.0.0.1", port, backlog=4096, reuse_address=True)
        ready.set()  # type: ignore[attr-defined]
        async with server:
            await server.serve_forever()

    uvloop.run(main())


async def run(
    seconds: float, targets: int, in_flight: int, port: int, use_aiohttp: bool, interval: float = 1.0
) -> float:
    check = parse_document(
        "check",
        {
            "tenant": "b",
            "name": "web",
            "type": "http",
            "port": port,
            "path": "/healthz",
            "interval": interval,
            "timeout": 1,
            "expect_body": "OK",
        },
    )
    all_targets = {
        f"b/web/{i}": Target(f"b/web/{i}", "b", "web", check, "127.0.0.1", port) for i in range(targets)
    }
    done = {"ok": 0, "fail": 0}

    def on_result(_target: Target, outcome: ProbeOutcome) -> None:
        done["ok" if outcome.ok else "fail"] += 1

    prober = probe
    session = None
    if use_aiohttp:
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=in_flight))

        async def aiohttp_probe(target: Target) -> ProbeOutcome:
            started = time.perf_counter()
            try:
                async with session.get(f"http://{target.host}:{target.port}/healthz") as response:  # type: ignore[union-attr]
                    body = await response.text()
                    ok = response.status == 200 and "OK" in body
            except (aiohttp.ClientError, OSError):
                ok = False
            return ProbeOutcome(ok, time.perf_counter() - started, "ok" if ok else "fail")

        prober = aiohttp_probe  # type: ignore[assignment]
    scheduler = Scheduler(on_result, max_in_flight=in_flight, jitter=0.1, prober=prober)
    scheduler.update(all_targets)
    await asyncio.sleep(1.0)  # warm up: spread first probes
    start_ok, start_fail, started = done["ok"], done["fail"], time.perf_counter()
    cpu_started = time.process_time()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    ok, fail = done["ok"] - start_ok, done["fail"] - start_fail
    await scheduler.stop()
    if session is not None:
        await session.close()
    rate = ok / elapsed
    print(
        f"{'aiohttp' if use_aiohttp else 'raw asyncio'} HTTP checks: {rate:,.0f}/s ok, "
        f"{fail / elapsed:,.0f}/s failed ({targets} targets at {interval:g} s interval, "
        f"{in_flight} in flight, {elapsed:.1f} s); {ok / cpu:,.0f} checks per CPU-second "
        f"({cpu / elapsed:.0%} of a core used)"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--targets", type=int, default=8000)
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--interval", type=float, default=1.0, help="check interval (default 1 s)")
    parser.add_argument("--aiohttp", action="store_true", help="use aiohttp instead, for comparison")
    args = parser.parse_args()
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ready = multiprocessing.Event()
    backend = multiprocessing.Process(target=serve, args=(port, ready), daemon=True)
    backend.start()
    ready.wait(10)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    try:
        import uvloop

        uvloop.run(run(args.seconds, args.targets, args.in_flight, port, args.aiohttp, args.interval))
    finally:
        backend.terminate()
        backend.join(5)


if __name__ == "__main__":
    main()
