"""A small anycast network in namespaces: a BIRD 2 router, two anycast nodes, a client.

    client ──(203.0.113.0/24)── router (BIRD, AS 65000, redis) ──(198.51.100.0/30)── node a
                                                            └───(198.51.100.4/30)── node b

Each node runs `gslb dns` on the anycast address 192.0.2.53 (on its lo) and ExaBGP (AS 65001),
which runs `gslb anycast`. Redis runs in the router namespace, reachable by both nodes over their
links, so both nodes follow one policy store. Only documentation and test-net addresses are used,
and no packet leaves these namespaces. Everything started here is killed and every namespace
deleted by `close()`, whatever state the lab is in.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOOL = Path(__file__).with_name("netns_tool.py")

ANYCAST = "192.0.2.53"
VIP = "192.0.2.80"
ROUTER_AS = 65000
NODE_AS = 65001
REDIS_PORT = 6379
CHECK_INTERVAL = 0.25

POLICY = """
tenants:
  acme:
    checks:
      web: {type: tcp, port: 80, interval: 1, timeout: 0.5}
    vips:
      web: {address: 192.0.2.80, port: 80, reals: [{address: 198.51.100.200, health_check: web}]}
    anycast:
      dns:
        prefix: 192.0.2.53/32
        service: dns
        states:
          up: {med: 10, local_preference: 200, communities: ["65000:53", "65000:1:53"]}
          draining: {med: 500, as_path_prepend: 2}
        drain_seconds: 1
      web: {prefix: 192.0.2.80/32, service: vip, vip: web}
    zones:
      example.com.:
        records:
          '': {type: NS, values: [ns1.example.com.]}
          ns1: {type: A, values: [192.0.2.53]}
          www: {type: A, values: [192.0.2.10]}
"""

BIRD_CONF = """
router id 198.51.100.1;
log "{log}" all;
protocol device {{ scan time 10; }}
protocol kernel {{ ipv4 {{ export all; import none; }}; merge paths on; }}
template bgp node {{
  local as {router_as};
  hold time 3; keepalive time 1;
  passive on;
  error wait time 1, 2;
  ipv4 {{ import all; export none; }};
}}
protocol bgp na from node {{ neighbor 198.51.100.2 as {node_as}; }}
protocol bgp nb from node {{ neighbor 198.51.100.6 as {node_as}; }}
"""

EXABGP_CONF = """
process gslb {{
  run {run};
  encoder json;
}}
neighbor {peer} {{
  router-id {local};
  local-address {local};
  local-as {node_as};
  peer-as {router_as};
  hold-time 3;
  api {{ processes [ gslb ]; neighbor-changes; }}
}}
"""


@dataclass
class Node:
    name: str  # "a" or "b"
    netns: str
    address: str
    peer: str
    drain_file: Path
    http: str
    dns: subprocess.Popen[bytes] | None = None
    exabgp: subprocess.Popen[bytes] | None = None


@dataclass
class Lab:
    workdir: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)

    # --- building -------------------------------------------------------------------------------

    def ns(self, role: str) -> str:
        return f"gslbac-{self.tag}-{role}"

    @property
    def redis_url_a(self) -> str:
        return f"redis://198.51.100.1:{REDIS_PORT}/0"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        # ExaBGP reads its settings from the environment: acknowledge API commands, no CLI pipe,
        # stay root (the helper adds VIPs to lo), log to stderr (our log file).
        env.update(
            {
                "exabgp.api.ack": "true",
                "exabgp.api.cli": "false",
                "exabgp.daemon.user": "root",
                "exabgp.daemon.drop": "false",
                "exabgp.log.destination": "stderr",
                "exabgp.log.level": "INFO",
                "exabgp.tcp.bind": "",
            }
        )
        return env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, check=check, capture_output=True, text=True, timeout=30)

    def start_process(self, netns: str, args: list[str], log: str) -> subprocess.Popen[bytes]:
        with (self.workdir / log).open("ab") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", netns, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env(),
            )
        self.processes.append(process)
        return process

    def build(self) -> None:
        for role in ("r", "a", "b", "c"):
            self.run("ip", "netns", "add", self.ns(role))
            self.namespaces.append(self.ns(role))
            self.run("ip", "-n", self.ns(role), "link", "set", "lo", "up")
        links = [("a", "198.51.100.1/30", "198.51.100.2/30"), ("b", "198.51.100.5/30", "198.51.100.6/30")]
        links.append(("c", "203.0.113.1/24", "203.0.113.2/24"))
        for role, router_address, address in links:
            outer, inner = f"ac{self.tag}r{role}", f"ac{self.tag}{role}r"
            self.run(
                "ip",
                "link",
                "add",
                outer,
                "netns",
                self.ns("r"),
                "type",
                "veth",
                "peer",
                "name",
                inner,
                "netns",
                self.ns(role),
            )
            self.run("ip", "-n", self.ns("r"), "addr", "add", router_address, "dev", outer)
            self.run("ip", "-n", self.ns(role), "addr", "add", address, "dev", inner)
            self.run("ip", "-n", self.ns("r"), "link", "set", outer, "up")
            self.run("ip", "-n", self.ns(role), "link", "set", inner, "up")
            self.run(
                "ip", "-n", self.ns(role), "route", "add", "default", "via", router_address.split("/")[0]
            )
        # /proc/sys/net is per namespace (no procps needed); hash on ports too, so queries from one
        # client may use both ECMP paths.
        for key, value in (("ip_forward", "1"), ("fib_multipath_hash_policy", "1")):
            script = f"echo {value} > /proc/sys/net/ipv4/{key}"
            self.run("ip", "netns", "exec", self.ns("r"), "sh", "-c", script)
        for role in ("a", "b"):
            self.run("ip", "-n", self.ns(role), "addr", "add", f"{ANYCAST}/32", "dev", "lo")

    def start_router(self) -> None:
        redis = shutil.which("redis-server")
        assert redis, "redis-server is missing (scripts/test.sh installs the Debian package)"
        self.start_process(
            self.ns("r"),
            [
                redis,
                "--port",
                str(REDIS_PORT),
                "--bind",
                "198.51.100.1",
                "198.51.100.5",
                "--protected-mode",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            "redis.log",
        )
        conf = self.workdir / "bird.conf"
        conf.write_text(BIRD_CONF.format(log=self.workdir / "bird.log", router_as=ROUTER_AS, node_as=NODE_AS))
        bird = shutil.which("bird") or "/usr/sbin/bird"
        assert os.path.exists(bird), "bird is missing (Debian package bird2; scripts/test.sh installs it)"
        self.start_process(
            self.ns("r"), [bird, "-f", "-c", str(conf), "-s", str(self.birdc_socket)], "bird.out"
        )
        wait_until(lambda: self.birdc_socket.exists(), 10, "BIRD did not start")

    @property
    def birdc_socket(self) -> Path:
        return self.workdir / "bird.ctl"

    def load_policy(self) -> None:
        policy = self.workdir / "policy.yaml"
        policy.write_text(POLICY)

        def imported() -> bool:
            result = self.run(
                "ip",
                "netns",
                "exec",
                self.ns("a"),
                sys.executable,
                "-m",
                "gslb",
                "-q",
                "import",
                str(policy),
                "--redis-url",
                self.redis_url_a,
                check=False,
            )
            return result.returncode == 0

        wait_until(imported, 15, "gslb import into the lab's Redis failed")

    def add_node(self, name: str, address: str, peer: str) -> Node:
        node = Node(
            name,
            self.ns(name),
            address,
            peer,
            drain_file=self.workdir / f"drain-{name}",
            http="127.0.0.1:8099",
        )
        self.nodes[name] = node
        return node

    def redis_url(self, node: Node) -> str:
        return f"redis://{node.peer}:{REDIS_PORT}/0"

    def start_dns(self, node: Node) -> None:
        node.dns = self.start_process(
            node.netns,
            [
                sys.executable,
                "-m",
                "gslb",
                "dns",
                "--redis-url",
                self.redis_url(node),
                "--listen",
                f"{ANYCAST}:53",
            ],
            f"dns-{node.name}.log",
        )

    def start_exabgp(self, node: Node) -> None:
        run = " ".join(
            [
                sys.executable,
                "-m",
                "gslb",
                "anycast",
                "--redis-url",
                self.redis_url(node),
                "--local-as",
                str(NODE_AS),
                "--check-dns",
                f"{ANYCAST}:53",
                "--check-name",
                "www.example.com.",
                "--check-expect",
                "192.0.2.10",
                "--interval",
                str(CHECK_INTERVAL),
                "--drain-file",
                str(node.drain_file),
                "--vip-interface",
                "lo",
                "--http",
                node.http,
            ]
        )
        conf = self.workdir / f"exabgp-{node.name}.conf"
        conf.write_text(
            EXABGP_CONF.format(
                run=run, peer=node.peer, local=node.address, node_as=NODE_AS, router_as=ROUTER_AS
            )
        )
        exabgp = shutil.which("exabgp")
        assert exabgp, "exabgp is missing (pip install exabgp, pinned in pyproject.toml)"
        node.exabgp = self.start_process(node.netns, [exabgp, str(conf)], f"exabgp-{node.name}.log")

    # --- observing ------------------------------------------------------------------------------

    def next_hops(self, prefix: str) -> set[str]:
        """Gateways of the router's kernel route to `prefix` (two for ECMP, none when withdrawn)."""
        out = self.run("ip", "-n", self.ns("r"), "-j", "route", "show", prefix).stdout
        hops: set[str] = set()
        for route in json.loads(out or "[]"):
            if "gateway" in route:
                hops.add(route["gateway"])
            for hop in route.get("nexthops", []):
                hops.add(hop["gateway"])
        return hops

    def birdc(self, *command: str) -> str:
        return self.run("birdc", "-s", str(self.birdc_socket), *command).stdout

    def query(self, name: str = "www.example.com.") -> str:
        return self.run(
            "ip",
            "netns",
            "exec",
            self.ns("c"),
            sys.executable,
            str(TOOL),
            "query",
            ANYCAST,
            name,
            check=False,
        ).stdout.strip()

    def tool(self, *args: str) -> str:
        return self.run("ip", "netns", "exec", self.ns("a"), sys.executable, str(TOOL), *args).stdout

    def node_addresses(self, node: Node) -> str:
        return self.run("ip", "-n", node.netns, "addr", "show", "dev", "lo").stdout

    def helper_pids(self, node: Node) -> list[int]:
        """`gslb anycast` processes that ExaBGP of `node` runs (children of the exabgp process)."""
        assert node.exabgp is not None
        return children_of(node.exabgp.pid, "anycast")

    def http(self, node: Node, method: str, path: str) -> str:
        code = (
            "import sys, urllib.request;"
            f"request = urllib.request.Request('http://{node.http}{path}', method='{method}');"
            "r = urllib.request.urlopen(request);"
            "sys.stdout.write(r.read().decode())"
        )
        return self.run("ip", "netns", "exec", node.netns, sys.executable, "-c", code).stdout

    # --- teardown -------------------------------------------------------------------------------

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 5
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for netns in self.namespaces:
            # Anything still running inside our namespaces is ours (helpers ExaBGP spawned).
            pids = self.run("ip", "netns", "pids", netns, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
        for netns in reversed(self.namespaces):
            self.run("ip", "netns", "del", netns, check=False)
        self.namespaces.clear()


def children_of(parent: int, marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and marker in cmdline:
            found.append(int(entry.name))
    return found


def wait_until(condition: Callable[[], bool], timeout: float, message: str, step: float = 0.02) -> float:
    """Poll `condition` until true; return the seconds it took, or fail with `message`."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{message} (waited {timeout:g} s)")
        time.sleep(step)
