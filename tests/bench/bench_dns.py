"""Benchmark: `gslb dns` against gdnsd and PowerDNS on one core, measured with dnsperf on another.

Run: tests/bench/run_dns.sh (installs the peers), or python tests/bench/bench_dns.py [--seconds 10]

Every server answers the same zone `bench.example.` (policy below; peers in tests/bench/dns_peers/):
a static `www` A with two addresses and a dynamic `geo` A (continent EU -> pool eu, AS -> asia,
anyone else -> us; two weighted members per pool, one answer). Each server runs pinned to core 1
with one worker thread, dnsperf pinned to core 0. Mixes:

- static: `www A` from 127.0.0.1;
- geo-us: `geo A` from 127.0.0.1 (the demo geography places it in North America: the catch-all);
- geo-eu: `geo A` from 127.0.1.1 (Berlin in the demo geography: rule EU).

The geography is the bundled demo .mmdb (`gslb geo build`), read by all three servers.
Everything listens on loopback; every process is stopped and the temporary directory removed at
the end, also on failure.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

ROOT = Path(__file__).resolve().parents[2]
PEERS = Path(__file__).resolve().parent / "dns_peers"
ZONE = "bench.example."
SERVER_CORE = "1"
CLIENT_CORE = "0"

POLICY = """\
tenants:
  bench:
    zones:
      bench.example.:
        ttl: 300
        records:
          '':
            - type: SOA
              value: {mname: ns1.bench.example., rname: hostmaster.bench.example., serial: 1,
                      refresh: 3600, retry: 600, expire: 604800, minimum: 60}
            - {type: NS, values: [ns1.bench.example.]}
          ns1: {type: A, values: [192.0.2.53]}
          www: {type: A, values: [192.0.2.10, 192.0.2.11]}
          geo:
            type: A
            ttl: 60
            values: [192.0.2.31]
            dynamic:
              pools:
                eu: {values: [{value: 192.0.2.21, weight: 1}, {value: 192.0.2.22, weight: 3}]}
                us: {values: [{value: 192.0.2.31, weight: 1}, {value: 192.0.2.32, weight: 2}]}
                asia: {values: [{value: 192.0.2.41, weight: 1}, {value: 192.0.2.42, weight: 1}]}
              rules:
                - {geos: [EU], pool: eu}
                - {geos: [AS], pool: asia}
                - {pool: us}
              max_answers: 1
"""


@dataclass(frozen=True)
class Mix:
    name: str
    qname: str
    source: str
    expect: frozenset[str]  # addresses an answer may contain


MIXES = (
    Mix("static", f"www.{ZONE}", "127.0.0.1", frozenset({"192.0.2.10", "192.0.2.11"})),
    Mix("geo-us", f"geo.{ZONE}", "127.0.0.1", frozenset({"192.0.2.31", "192.0.2.32"})),
    Mix("geo-eu", f"geo.{ZONE}", "127.0.1.1", frozenset({"192.0.2.21", "192.0.2.22"})),
)


@dataclass
class Result:
    server: str
    mix: str
    qps: float | None
    loss_pct: float | None
    server_cpu: float | None = None  # % of one core, over the dnsperf run
    client_cpu: float | None = None
    note: str = ""


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (racy, but only we use loopback here)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = int(u.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port


def query(port: int, qname: str, source: str = "127.0.0.1", timeout: float = 0.5) -> dns.message.Message:
    q = dns.message.make_query(qname, dns.rdatatype.A)
    return dns.query.udp(q, "127.0.0.1", port=port, source=source, timeout=timeout)


def answer_addresses(msg: dns.message.Message) -> set[str]:
    return {rd.address for rrset in msg.answer if rrset.rdtype == dns.rdatatype.A for rd in rrset}


class Server:
    """One server process pinned to SERVER_CORE, output to a log file."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = ["taskset", "-c", SERVER_CORE, *argv]
        self.port = port
        self.log = log
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                msg = query(self.port, f"www.{ZONE}", timeout=0.3)
                if msg.rcode() == dns.rcode.NOERROR and answer_addresses(msg):
                    return
            except (dns.exception.Timeout, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.tail()}")

    def cpu_seconds(self) -> float | None:
        """User + system time of the server process (all its threads) so far."""
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def run(argv: list[str], **kwargs: object) -> None:
    subprocess.run(argv, check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def render(template: str, dest: Path, **values: str) -> None:
    text = (PEERS / template).read_text()
    dest.write_text(string.Template(text).substitute(values) if values else text)


def setup_gslb(tmp: Path, mmdb: Path) -> Server:
    data = tmp / "gslb-data"
    policy = tmp / "policy.yaml"
    policy.write_text(POLICY)
    run(
        [sys.executable, "-m", "gslb", "-q", "import", str(policy), "--data-dir", str(data)],
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    argv = [sys.executable, "-m", "gslb", "-q", "dns", "--data-dir", str(data)]
    argv += ["--listen", f"127.0.0.1:{port}", "--geoip", str(mmdb)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return Server("gslb", argv, port, tmp / "gslb.log", env)


def setup_gdnsd(tmp: Path, mmdb: Path) -> Server:
    conf = tmp / "gdnsd"
    for sub in ("zones", "run", "state"):
        (conf / sub).mkdir(parents=True)
    port = free_port()
    render("gdnsd.config", conf / "config", port=str(port), dir=str(conf), mmdb=str(mmdb))
    render("gdnsd.zone", conf / "zones" / ZONE.rstrip("."))
    return Server("gdnsd", ["gdnsd", "-c", str(conf), "start"], port, tmp / "gdnsd.log")


def setup_pdns(tmp: Path, mmdb: Path) -> Server:
    conf = tmp / "pdns"
    (conf / "sock").mkdir(parents=True)
    render("pdns.named.conf", conf / "named.conf", dir=str(conf))
    render("pdns.zone", conf / "pdns.zone")
    render("pdns.geoip.yaml", conf / "geoip.yaml")
    port = free_port()
    argv = ["pdns_server", "--no-config", f"--config-dir={conf}", f"--socket-dir={conf / 'sock'}"]
    argv += ["--daemon=no", "--guardian=no", "--disable-syslog", "--write-pid=no"]
    argv += ["--local-address=127.0.0.1", f"--local-port={port}", "--reuseport=no"]
    argv += ["--receiver-threads=1", "--distributor-threads=1", "--signing-threads=1"]
    argv += ["--launch=bind,geoip", f"--bind-config={conf / 'named.conf'}", "--bind-check-interval=0"]
    argv += [f"--geoip-database-files={mmdb}", f"--geoip-zones-file={conf / 'geoip.yaml'}"]
    argv += ["--enable-lua-records=yes", "--loglevel=4", "--webserver=no", "--api=no"]
    return Server("pdns", argv, port, tmp / "pdns.log")


def check_answers(server: Server) -> str:
    """Ask each mix a few times; return a note when answers are not what the policy says."""
    problems = []
    for mix in MIXES:
        try:
            got: set[str] = set()
            for _ in range(20):
                got |= answer_addresses(query(server.port, mix.qname, mix.source))
        except (dns.exception.Timeout, OSError) as exc:
            problems.append(f"{mix.name}: {type(exc).__name__}")
            continue
        if not got or not got <= mix.expect:
            problems.append(f"{mix.name}: got {sorted(got)}, want within {sorted(mix.expect)}")
    return "; ".join(problems)


QPS_RE = re.compile(r"Queries per second:\s+([\d.]+)")
LOST_RE = re.compile(r"Queries lost:\s+\d+\s+\(([\d.]+)%\)")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dnsperf(port: int, mix: Mix, qfile: Path, seconds: int) -> tuple[float | None, float | None, str]:
    argv = ["taskset", "-c", CLIENT_CORE, "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-a", mix.source]
    argv += ["-d", str(qfile), "-l", str(seconds), "-c", "10", "-q", "100", "-Q", "500000", "-t", "2"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 20)
    qps, lost = QPS_RE.search(proc.stdout), LOST_RE.search(proc.stdout)
    if qps is None or lost is None:
        return None, None, f"dnsperf rc={proc.returncode}: {(proc.stderr or proc.stdout).strip()[-200:]}"
    return float(qps.group(1)), float(lost.group(1)), ""


def bench(servers: list[tuple[str, Callable[[Path, Path], Server]]], seconds: int) -> list[Result]:
    results: list[Result] = []
    tmp = Path(tempfile.mkdtemp(prefix="gslb-bench-dns-"))
    try:
        mmdb = tmp / "demo.mmdb"
        run([sys.executable, "-m", "gslb", "-q", "geo", "build", str(mmdb)], stdout=subprocess.DEVNULL)
        qfiles = {}
        for mix in MIXES:
            qfiles[mix.name] = tmp / f"queries-{mix.name}.txt"
            qfiles[mix.name].write_text(f"{mix.qname} A\n")
        for name, setup in servers:
            server: Server | None = None
            try:
                server = setup(tmp, mmdb)
                server.start()
            except Exception as exc:
                print(f"[{name}] not started: {exc}", file=sys.stderr)
                results += [Result(name, m.name, None, None, "not started") for m in MIXES]
                if server is not None:
                    server.stop()
                continue
            try:
                note = check_answers(server)
                if note:
                    print(f"[{name}] unexpected answers: {note}", file=sys.stderr)
                for mix in MIXES:
                    s0, c0, t0 = server.cpu_seconds(), children_cpu(), time.monotonic()
                    qps, loss, err = dnsperf(server.port, mix, qfiles[mix.name], seconds)
                    s1, c1, wall = server.cpu_seconds(), children_cpu(), time.monotonic() - t0
                    scpu = None if s0 is None or s1 is None else 100 * (s1 - s0) / wall
                    ccpu = 100 * (c1 - c0) / wall
                    bad = note if mix.name in note else ""
                    results.append(Result(name, mix.name, qps, loss, scpu, ccpu, err or bad))
                    print(f"[{name}] {mix.name}: {qps} qps, {loss}% lost {err}", file=sys.stderr)
            finally:
                server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def report(results: list[Result]) -> None:
    by = {(r.server, r.mix): r for r in results}
    print(f"\n{'server':<8} {'mix':<8} {'qps':>10} {'loss %':>7} {'srv cpu%':>8} {'cli cpu%':>8}  note")
    for r in results:
        print(
            f"{r.server:<8} {r.mix:<8} {fmt(r.qps, ',.0f'):>10} {fmt(r.loss_pct, '.2f'):>7}"
            f" {fmt(r.server_cpu, '.0f'):>8} {fmt(r.client_cpu, '.0f'):>8}  {r.note}"
        )
    print(f"\n{'mix':<8} {'gslb/gdnsd':>11} {'gslb/pdns':>10}")
    for mix in MIXES:
        ratios = []
        for peer in ("gdnsd", "pdns"):
            g, p = by.get(("gslb", mix.name)), by.get((peer, mix.name))
            ratios.append(f"{g.qps / p.qps:.2f}" if g and p and g.qps and p.qps else "-")
        print(f"{mix.name:<8} {ratios[0]:>11} {ratios[1]:>10}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=10, help="dnsperf run length per server and mix")
    parser.add_argument("--servers", default="gslb,gdnsd,pdns", help="comma-separated subset")
    args = parser.parse_args()
    setups: dict[str, Callable[[Path, Path], Server]] = {
        "gslb": setup_gslb,
        "gdnsd": setup_gdnsd,
        "pdns": setup_pdns,
    }
    chosen = [(n, setups[n]) for n in args.servers.split(",") if n]
    if os.cpu_count() is not None and (os.cpu_count() or 0) < 2:
        print("warning: fewer than 2 cores; server and client share a core", file=sys.stderr)
    results = bench(chosen, args.seconds)
    report(results)
    return 0 if all(r.qps is not None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
