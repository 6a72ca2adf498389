"""Benchmark: `gslb proxy` against nginx and HAProxy as equivalent reverse proxies, measured with wrk.

Run: tests/bench/run_proxy.sh (installs wrk, nginx and haproxy), or python tests/bench/bench_proxy.py
[--seconds 10 --connections 64 --proxies gslb,nginx,haproxy --vary --python PATH]

Every proxy forwards `Host: bench.example` requests to the same backend (an nginx answering a
19-byte body) over keep-alive upstream connections, adds X-Forwarded-For, and keeps client
connections alive. Each proxy runs with one worker pinned to core 1; wrk (one thread) and the
backend share core 0. The backend alone is measured too: it bounds what any proxy can reach here.
Everything listens on loopback on free ports; every process is stopped at the end, also on failure.

wrk sends the same request again and again, and the backend gives the same answer (its Date aside):
the case gslb's per-connection memos (proxy.quick) are made for. `--vary` gives every request its
own path, which the backend echoes in a header, so neither memo ever hits: the figure for traffic
that never repeats. `--python` runs gslb on another interpreter (a PGO build such as Debian's
/usr/bin/python3, in a venv with gslb installed), since the interpreter's own build counts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROXY_CORE = "1"
CLIENT_CORE = "0"
HOST = "bench.example"

BACKEND_CONF = """\
worker_processes 1;
daemon off;
error_log {tmp}/backend.err;
pid {tmp}/backend.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ add_header X-Path $request_uri; return 200 "hello from backend\\n"; }}
  }}
}}
"""

NGINX_CONF = """\
worker_processes 1;
daemon off;
error_log {tmp}/nginx.err;
pid {tmp}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  upstream backend {{ server 127.0.0.1:{backend}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    server_name {host};
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
    }}
  }}
}}
"""

HAPROXY_CONF = """\
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  option forwardfor
  http-reuse always
frontend web
  bind 127.0.0.1:{port}
  acl bench hdr(host) -i {host}
  use_backend be if bench
backend be
  server b1 127.0.0.1:{backend}
"""

POLICY = """\
tenants:
  bench:
    upstreams:
      backend: {{members: [{{address: 127.0.0.1, port: {backend}}}]}}
    routes:
      site: {{hosts: [{host}], upstream: backend}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    def __init__(
        self, name: str, argv: list[str], port: int, log: Path, core: str, env: dict[str, str] | None = None
    ):
        self.name = name
        self.argv = ["taskset", "-c", core, *argv]
        self.port = port
        self.log = log
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log.read_text()[-2000:]}")
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{self.port}/", headers={"Host": HOST})
                with urllib.request.urlopen(request, timeout=1) as response:
                    body = response.read()
                if b"hello from backend" in body:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer on port {self.port}:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by a process and its descendants (nginx's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


@dataclass
class Result:
    name: str
    rps: float
    latency: dict[str, str]
    errors: str
    all_rps: list[float] | None = None
    per_cpu_second: float | None = None  # requests per CPU-second of the proxy: throughput per core


# Every request its own path (--vary): wrk's per-thread counter, so no two requests are alike.
VARY_SCRIPT = """\
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/item/" .. n)
end
"""


def wrk(
    port: int, seconds: int, connections: int, pid: int | None = None, script: Path | None = None
) -> Result:
    argv = [
        "taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
        "-H", f"Host: {HOST}", *(["-s", str(script)] if script else []), f"http://127.0.0.1:{port}/",
    ]  # fmt: skip
    before = tree_cpu(pid) if pid is not None else 0.0
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    used = tree_cpu(pid) - before if pid is not None else 0.0
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50%|75%|90%|99%)\s+(\S+)", out, re.M))
    errors = ""
    if match := re.search(r"Socket errors:.*|Non-2xx or 3xx responses: \d+", out):
        errors = match.group(0)
    return Result("", rps, latency, errors, per_cpu_second=total / used if used > 0 else None)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--proxies", default="gslb,nginx,haproxy")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is reported")
    parser.add_argument("--vary", action="store_true", help="every request a different path (no memo hits)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter gslb runs on")
    args = parser.parse_args()
    wanted = args.proxies.split(",")
    for tool in ("wrk", "nginx", "taskset") + (("haproxy",) if "haproxy" in wanted else ()):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"{tool} is not installed: run tests/bench/run_proxy.sh", file=sys.stderr)
            return 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    script = None
    if args.vary:
        script = tmp / "vary.lua"
        script.write_text(VARY_SCRIPT)
    processes: list[Process] = []
    results: list[Result] = []
    try:
        backend_port = free_port()
        (tmp / "backend.conf").write_text(BACKEND_CONF.format(tmp=tmp, port=backend_port))
        backend = Process(
            "backend",
            ["nginx", "-c", str(tmp / "backend.conf")],
            backend_port,
            tmp / "backend.log",
            CLIENT_CORE,
        )
        backend.start()
        processes.append(backend)
        ports: dict[str, int] = {}
        for name in wanted:
            port = free_port()
            if name == "gslb":
                data = tmp / "gslb-data"
                (tmp / "policy.yaml").write_text(POLICY.format(backend=backend_port, host=HOST))
                env = {**os.environ, "PYTHONPATH": str(ROOT)}
                subprocess.run(
                    [args.python, "-m", "gslb", "-q", "import", str(tmp / "policy.yaml"), "--data-dir", str(data)],  # noqa: E501
                    check=True, env=env, capture_output=True,
                )  # fmt: skip
                argv = [args.python, "-m", "gslb", "-q", "proxy", "--data-dir", str(data),
                        "--listen", f"127.0.0.1:{port}"]  # fmt: skip
                proc = Process(name, argv, port, tmp / "gslb.log", PROXY_CORE, env)
            elif name == "nginx":
                (tmp / "nginx.conf").write_text(
                    NGINX_CONF.format(tmp=tmp, port=port, backend=backend_port, host=HOST)
                )
                proc = Process(
                    name, ["nginx", "-c", str(tmp / "nginx.conf")], port, tmp / "nginx.log", PROXY_CORE
                )
            elif name == "haproxy":
                (tmp / "haproxy.cfg").write_text(
                    HAPROXY_CONF.format(port=port, backend=backend_port, host=HOST)
                )
                argv = ["haproxy", "-db", "-f", str(tmp / "haproxy.cfg")]
                proc = Process(name, argv, port, tmp / "haproxy.log", PROXY_CORE)
            else:
                print(f"unknown proxy {name!r}: use gslb, nginx, haproxy", file=sys.stderr)
                return 2
            proc.start()
            processes.append(proc)
            ports[name] = port
            wrk(port, 2, args.connections)  # warm up (pools filled, caches hot)
        # Rounds interleave the proxies, so a burst of other load on the machine hits all of them
        # alike; each proxy's median round is reported.
        runs: dict[str, list[Result]] = {name: [] for name in ["backend alone", *wanted]}
        for _ in range(args.rounds):
            runs["backend alone"].append(wrk(backend_port, args.seconds, args.connections, script=script))
            for name, proc in zip(wanted, processes[1:], strict=True):
                assert proc.proc is not None
                runs[name].append(wrk(ports[name], args.seconds, args.connections, proc.proc.pid, script))
        for name, found in runs.items():
            found.sort(key=lambda result: result.rps)
            median = found[len(found) // 2]
            median.name = name
            median.all_rps = [result.rps for result in found]
            results.append(median)
    finally:
        for proc in reversed(processes):
            proc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"\nkeep-alive GET, small response, {args.connections} connections, {args.seconds} s, proxy on core "
        f"{PROXY_CORE}, wrk + backend on core {CLIENT_CORE}; "
        f"{'every request a different path' if args.vary else 'the same request every time'}; "
        f"gslb on {args.python} (Python {version})\n"
    )
    print(f"{'':16}{'req/s':>12}{'req/cpu-s':>12}{'p50':>10}{'p75':>10}{'p90':>10}{'p99':>10}  errors")
    for result in results:
        lat = result.latency
        print(
            f"{result.name:16}{result.rps:12,.0f}"
            f"{f'{result.per_cpu_second:,.0f}' if result.per_cpu_second else '-':>12}"
            f"{lat.get('50%', '-'):>10}{lat.get('75%', '-'):>10}"
            f"{lat.get('90%', '-'):>10}{lat.get('99%', '-'):>10}  {result.errors}"
            f"  rounds: {', '.join(f'{rps:,.0f}' for rps in result.all_rps or [])}"
        )
    by_name = {result.name: result for result in results}
    gslb = by_name.get("gslb")
    if gslb is not None:
        for peer_name in ("nginx", "haproxy"):
            peer = by_name.get(peer_name)
            if peer is None:
                continue
            line = f"gslb / {peer_name}: {gslb.rps / peer.rps:.2f} in requests per second"
            if gslb.per_cpu_second and peer.per_cpu_second:
                line += f", {gslb.per_cpu_second / peer.per_cpu_second:.2f} in requests per CPU-second"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
