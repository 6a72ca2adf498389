"""Benchmark: forwarding cache hits, `gslb dns --forward` against Unbound and PowerDNS Recursor.

Run: tests/bench/run_forward.sh (installs the peers), or python tests/bench/bench_forward.py

An upstream (`gslb dns`, authoritative for `fwd.test.` with 1,000 names) runs unpinned; each
forwarder in turn runs pinned to core 1 with one thread, forwarding everything to that upstream.
dnsperf (core 0) first asks every name once (warm-up: the misses), then the timed run asks the
same 1,000 names again and again: every answer is a cache hit. The figure is queries per second
per core on cache hits (the issue's goal: at least 150,000; CoreDNS publishes about 60,000).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dns import CLIENT_CORE, Mix, Server, dnsperf, free_port, run

NAMES = 1000
ZONE = "fwd.test."
POLICY_HEAD = f"""\
tenants:
  bench:
    zones:
      {ZONE}:
        ttl: 3600
        records:
          '':
            - {{type: NS, values: [ns1.{ZONE}]}}
          ns1: {{type: A, values: [192.0.2.53]}}
"""


def policy() -> str:
    lines = [POLICY_HEAD]
    for index in range(NAMES):
        lines.append(f"          h{index}: {{type: A, values: [192.0.2.{index % 250 + 1}]}}\n")
    return "".join(lines)


def start_upstream(tmp: Path) -> tuple[Server, int]:
    data = tmp / "upstream-data"
    (tmp / "upstream.yaml").write_text(policy())
    run([sys.executable, "-m", "gslb", "-q", "import", str(tmp / "upstream.yaml"), "--data-dir", str(data)])
    port = free_port()
    server = Server(
        "upstream",
        [sys.executable, "-m", "gslb", "-q", "dns", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}"],
        port,
        tmp / "upstream.log",
    )
    server.argv = server.argv[3:]  # unpinned: it only answers the warm-up misses
    return server, port


def setup_gslb(tmp: Path, upstream: int) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "gslb", "-q", "dns", "--data-dir", str(tmp / "fwd-data")]
    argv += ["--listen", f"127.0.0.1:{port}", "--forward", f"127.0.0.1:{upstream}"]
    return Server("gslb", argv, port, tmp / "gslb.log")


def setup_unbound(tmp: Path, upstream: int) -> Server:
    port = free_port()
    conf = tmp / "unbound.conf"
    conf.write_text(
        f"""server:
    interface: 127.0.0.1
    port: {port}
    num-threads: 1
    do-daemonize: no
    use-syslog: no
    username: ""
    chroot: ""
    directory: "{tmp}"
    pidfile: ""
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    msg-cache-size: 64m
    rrset-cache-size: 128m
    verbosity: 0
    module-config: "iterator"
    # "test." is special-use (RFC 6761): Unbound answers it locally unless told not to.
    local-zone: "test." nodefault
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@{upstream}
"""
    )
    return Server("unbound", ["unbound", "-d", "-c", str(conf)], port, tmp / "unbound.log")


def setup_recursor(tmp: Path, upstream: int) -> Server:
    port = free_port()
    conf = tmp / "recursor"
    conf.mkdir(exist_ok=True)
    argv = ["pdns_recursor", f"--config-dir={conf}", f"--socket-dir={conf}", "--daemon=no"]
    argv += [f"--local-address=127.0.0.1:{port}", "--threads=1", "--pdns-distributes-queries=no"]
    argv += [f"--forward-zones-recurse=.=127.0.0.1:{upstream}", "--dnssec=off", "--loglevel=3"]
    argv += ["--allow-from=127.0.0.0/8", "--disable-syslog", "--write-pid=no"]
    return Server("recursor", argv, port, tmp / "recursor.log")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--servers", default="gslb,unbound,recursor")
    args = parser.parse_args()
    setups: dict[str, Callable[[Path, int], Server]] = {
        "gslb": setup_gslb,
        "unbound": setup_unbound,
        "recursor": setup_recursor,
    }
    tmp = Path(tempfile.mkdtemp(prefix="gslb-bench-fwd-"))
    results: dict[str, float | None] = {}
    upstream, upstream_port = start_upstream(tmp)
    try:
        _wait_ready(upstream)
        qfile = tmp / "queries.txt"
        qfile.write_text("".join(f"h{index}.{ZONE} A\n" for index in range(NAMES)))
        for name in args.servers.split(","):
            server = setups[name](tmp, upstream_port)
            try:
                _wait_ready(server)
                mix = Mix("hits", f"h0.{ZONE}", "127.0.0.1", frozenset())
                dnsperf(server.port, mix, qfile, 2)  # warm-up: every name once (and again)
                qps, loss, err = dnsperf(server.port, mix, qfile, args.seconds)
                results[name] = qps
                print(f"[{name}] cache hits: {qps} qps, {loss}% lost {err}", file=sys.stderr)
            except Exception as exc:  # a peer that does not start must not hide the others
                print(f"[{name}] failed: {exc}", file=sys.stderr)
                results[name] = None
            finally:
                server.stop()
    finally:
        upstream.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nforwarding cache hits, one core each (dnsperf on core {CLIENT_CORE}):")
    for name, qps in results.items():
        print(f"  {name:<9} {'-' if qps is None else f'{qps:,.0f}':>10} qps")
    gslb = results.get("gslb")
    for peer in ("unbound", "recursor"):
        other = results.get(peer)
        if gslb and other:
            print(f"  gslb/{peer}: {gslb / other:.2f}")
    print(f"  goal: gslb >= 150,000 qps: {'PASS' if gslb and gslb >= 150_000 else 'FAIL'}")
    return 0 if gslb else 1


def _wait_ready(server: Server) -> None:
    """Start a server and wait until it answers a forwarded name (Server.start asks www.bench...)."""
    import time

    import dns.exception
    import dns.message
    import dns.query

    with server.log.open("wb") as out:
        server.proc = subprocess.Popen(
            server.argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.tail()}")
        try:
            query = dns.message.make_query(f"h0.{ZONE}", "A")
            if dns.query.udp(query, "127.0.0.1", port=server.port, timeout=0.3).answer:
                return
        except (dns.exception.Timeout, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer:\n{server.tail()}")


if __name__ == "__main__":
    sys.exit(main())
