"""Benchmark: the proxy's Python cost per request, in process, without sockets.

Run: python tests/bench/bench_proxy_path.py [--requests 200000]

A client connection and a pooled upstream connection get in-memory transports; each round feeds
one request to the client side and one response to the upstream side, exactly as the event loop
would, so the figure is the interpreter's share of a proxied request (the part the kernel does is
not in it). Shapes: wrk's bare GET answered by nginx's small response (the quick path), the same
with every request and response different (no memo hits), a browser-like head, and a POST with a
body (the full httptools path for the request).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gslb.policy import parse_document
from proxy.http1 import ClientConnection
from proxy.metrics import ProxyMetrics
from proxy.server import ProxyContext
from proxy.settings import ProxySettings
from proxy.table import compile_table
from proxy.upstream import Upstreams
from proxy.upstream_conn import UpstreamConnection

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 28 Nov 2026 10:31:53 GMT\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 19\r\nConnection: keep-alive\r\n\r\nhello from backend\n"
)
SHAPES = {
    "bare GET (wrk)": b"GET / HTTP/1.1\r\nHost: bench.example\r\n\r\n",
    "varying GET (no memo hits)": b"GET /item HTTP/1.1\r\nHost: bench.example\r\n\r\n",
    "browser GET": (
        b"GET /static/app.js?v=3 HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux)\r\n"
        b"Accept: */*\r\nAccept-Language: en-GB,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
        b"Connection: keep-alive\r\nReferer: http://bench.example/\r\nCookie: session=abc123\r\n\r\n"
    ),
    "POST with body (full path)": (
        b"POST /api HTTP/1.1\r\nHost: bench.example\r\nContent-Type: application/json\r\n"
        b'Content-Length: 10\r\n\r\n{"a": "b"}'
    ),
}


class Transport:
    """Just enough of an asyncio transport: writes are counted and dropped."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        raise AssertionError("the benchmark's connections must stay open")


class Loop:
    def time(self) -> float:
        return time.monotonic()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--only", default="", help="run only the shapes whose name has this text")
    parser.add_argument("--full", action="store_true", help="turn the quick path off (proxy.quick)")
    args = parser.parse_args()
    if args.full:
        from proxy.quick import QuickRequests, QuickResponses

        QuickRequests.take = QuickResponses.take = lambda self, data: None  # type: ignore[method-assign]
    pool = parse_document(
        "upstream",
        {"tenant": "bench", "name": "backend", "members": [{"address": "127.0.0.1", "port": 9}]},
    )
    route = parse_document(
        "route", {"tenant": "bench", "name": "site", "hosts": ["bench.example"], "upstream": "backend"}
    )
    table = compile_table([route], [pool], {})  # type: ignore[list-item]
    upstreams = Upstreams(None)
    upstreams.update(table.pools)
    ctx = ProxyContext(Loop(), ProxySettings(), table, upstreams, ProxyMetrics())  # type: ignore[arg-type]
    member = next(iter(upstreams.members.values()))
    print(f"{'request shape':30}{'µs per request':>16}")
    for name, request in SHAPES.items():
        if args.only and args.only not in name:
            continue
        client = ClientConnection(ctx)
        client_transport = Transport()
        client.connection_made(client_transport)  # type: ignore[arg-type]
        upstream = UpstreamConnection(member)
        upstream_transport = Transport()
        upstream.connection_made(upstream_transport)  # type: ignore[arg-type]
        member.put_idle(upstream, 64, time.monotonic())
        # "varying": every request its own path and every response its own header, as with
        # --vary in bench_proxy.py, so that no per-connection memo ever hits.
        varying = name.startswith("varying")
        requests = [request.replace(b"/item", b"/item/%d" % n) for n in range(1000)] if varying else [request]
        responses = (
            [RESPONSE.replace(b"OK\r\n", b"OK\r\nX-Path: /item/%d\r\n" % n) for n in range(1000)]
            if varying
            else [RESPONSE]
        )
        pairs = list(zip(requests, responses, strict=True))
        rounds = args.requests // 5 // len(pairs)
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(rounds):
                for request_bytes, response_bytes in pairs:
                    client.data_received(request_bytes)
                    upstream.data_received(response_bytes)
            best = min(best, (time.perf_counter() - start) / (rounds * len(pairs)))
        if client_transport.written != rounds * len(pairs) * 5:
            written = client_transport.written
            print(f"{name}: {written} responses for {args.requests} requests", file=sys.stderr)
            return 1
        print(f"{name:30}{best * 1e6:16.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
