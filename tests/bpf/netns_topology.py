"""A client, the forwarder and three reals in network namespaces on one bridge, built and torn down
by the tests.

    client 10.201.0.1 ──┐
    fwd    10.201.0.2 ──┤ br0 (in the switch namespace)
    real1  10.201.0.11 ─┤   reals: the VIPs on lo, tunnels stripped by `gslb l4 decap` (XDP) since
    real2  10.201.0.12 ─┤   this kernel may lack the ipip module; UDP receivers log every datagram
    real3  10.201.0.13 ─┘   (IPv6 alike: fd00:201::1, ::2, ::11-13; VIP fd00:201:100::1)
The client routes the VIP prefix via the forwarder; replies would go straight back (DSR).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

SUBNET = "10.201.0"
CLIENT = f"{SUBNET}.1"
FORWARDER = f"{SUBNET}.2"
REALS = [f"{SUBNET}.11", f"{SUBNET}.12", f"{SUBNET}.13"]
VIP_PREFIX = "10.201.100.0/24"
SUBNET6 = "fd00:201::"
CLIENT6 = f"{SUBNET6}1"
FORWARDER6 = f"{SUBNET6}2"
REALS6 = [f"{SUBNET6}11", f"{SUBNET6}12", f"{SUBNET6}13"]
VIP6_PREFIX = "fd00:201:100::/64"
VIPS = ("10.201.100.1", "10.201.100.2", "fd00:201:100::1")

RECEIVER = r"""
import selectors, socket, sys
out = open(sys.argv[1], "a", buffering=1)
sel = selectors.DefaultSelector()
for port in map(int, sys.argv[2:]):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # IPv4 and IPv6 on one socket
    s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE: bursts of thousands of flows
    s.bind(("::", port))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        while True:
            try:
                data, (host, sport, *_) = key.fileobj.recvfrom(2048)
            except BlockingIOError:
                break
            out.write(f"{key.fileobj.getsockname()[1]} {host} {sport}\n")
"""

SENDER = r"""
import socket, sys, time
vip = sys.argv[1]
port, first, count, repeats = map(int, sys.argv[2:6])
sockets = []
family = socket.AF_INET6 if ":" in vip else socket.AF_INET
for sport in range(first, first + count):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if ":" in vip else "0.0.0.0", sport))
    sockets.append(s)
sent = 0
for _ in range(repeats):
    for s in sockets:
        s.sendto(b"x", (vip, port))
        sent += 1
        if sent % 100 == 0:
            time.sleep(0.002)  # stay under the veth backlog (netdev_max_backlog)
"""


TCP_SERVER = r"""
import socket, sys
name, port = sys.argv[1], int(sys.argv[2])
server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("::", port))
server.listen(512)
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    with conn:
        conn.recv(64)
        conn.sendall(name.encode() + b"\n")
"""

TCP_CLIENT = r"""
import collections, socket, sys
vip, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
answers = collections.Counter()
for _ in range(count):
    with socket.create_connection((vip, port), timeout=3) as conn:
        conn.sendall(b"hello\n")
        answers[conn.makefile().readline().strip()] += 1
print(" ".join(f"{name}={n}" for name, n in sorted(answers.items())))
"""


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result


class Topology:
    def __init__(self, workdir: Path) -> None:
        tag = f"{os.getpid() % 100000}"
        self.switch = f"gxs{tag}"
        self.client = f"gxc{tag}"
        self.forwarder = f"gxf{tag}"
        self.reals = [f"gxr{i}{tag}" for i in range(1, len(REALS) + 1)]
        self.workdir = workdir
        self.processes: list[subprocess.Popen[str]] = []
        self.env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    @property
    def namespaces(self) -> list[str]:
        return [self.switch, self.client, self.forwarder, *self.reals]

    def ns(self, namespace: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run("ip", "netns", "exec", namespace, *argv, check=check)

    def create(self) -> None:
        for namespace in self.namespaces:
            run("ip", "netns", "add", namespace)
            self.ns(namespace, "ip", "link", "set", "lo", "up")
        self.ns(self.switch, "ip", "link", "add", "br0", "type", "bridge")
        self.ns(self.switch, "ip", "link", "set", "br0", "up")
        hosts = [
            (self.client, CLIENT, CLIENT6),
            (self.forwarder, FORWARDER, FORWARDER6),
            *zip(self.reals, REALS, REALS6, strict=True),
        ]
        for index, (namespace, address, address6) in enumerate(hosts):
            port = f"p{index}"
            run(
                "ip",
                "link",
                "add",
                "eth0",
                "netns",
                namespace,
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                self.switch,
            )
            self.ns(self.switch, "ip", "link", "set", port, "master", "br0", "up")
            self.ns(namespace, "ip", "addr", "add", f"{address}/24", "dev", "eth0")
            self.ns(namespace, "ip", "addr", "add", f"{address6}/64", "dev", "eth0", "nodad")
            self.ns(namespace, "ip", "link", "set", "eth0", "up")
        self.ns(self.client, "ip", "route", "add", VIP_PREFIX, "via", FORWARDER)
        self.ns(self.client, "ip", "-6", "route", "add", VIP6_PREFIX, "via", FORWARDER6)
        # the client's UDP checksums complete in software: frames are re-encapsulated on the way
        self.ns(self.client, "ethtool", "-K", "eth0", "tx", "off")
        for namespace in self.reals:
            for vip in VIPS:
                prefix = 128 if ":" in vip else 32
                self.ns(namespace, "ip", "addr", "add", f"{vip}/{prefix}", "dev", "lo")

    def spawn(self, namespace: str, argv: list[str], *, log: Path) -> subprocess.Popen[str]:
        """Start a long-running process in `namespace` (stopped by destroy())."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, *argv],
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            env=self.env,
        )
        self.processes.append(process)
        return process

    @staticmethod
    def await_ready(process: subprocess.Popen[str], ready: str, log: Path) -> None:
        assert process.stdout is not None
        line = process.stdout.readline()
        if ready not in line:
            process.kill()
            raise RuntimeError(f"{process.args!r} did not start: {line!r} {log.read_text()[-2000:]}")

    def start(self, namespace: str, argv: list[str], *, ready: str, log: Path) -> subprocess.Popen[str]:
        """Start a long-running process in `namespace`; return once it printed `ready`."""
        process = self.spawn(namespace, argv, log=log)
        self.await_ready(process, ready, log)
        return process

    def start_receivers(self, ports: list[int]) -> list[Path]:
        logs = []
        for namespace in self.reals:
            path = self.workdir / f"{namespace}.log"
            path.write_text("")
            self.start(
                namespace,
                [sys.executable, "-c", RECEIVER, str(path), *map(str, ports)],
                ready="ready",
                log=self.workdir / f"{namespace}.receiver.err",
            )
            logs.append(path)
        return logs

    def send(self, vip: str, port: int, first_sport: int, count: int, repeats: int = 1) -> None:
        self.ns(
            self.client,
            sys.executable,
            "-c",
            SENDER,
            vip,
            str(port),
            str(first_sport),
            str(count),
            str(repeats),
        )

    def start_tcp_servers(self, port: int) -> None:
        """A TCP server in every real answering each connection with the real's namespace name."""
        for namespace in self.reals:
            self.start(
                namespace,
                [sys.executable, "-c", TCP_SERVER, namespace, str(port)],
                ready="ready",
                log=self.workdir / f"{namespace}.tcp.err",
            )

    def tcp_connections(self, vip: str, port: int, count: int) -> dict[str, int]:
        """Open `count` connections from the client; how many each real answered."""
        output = self.ns(self.client, sys.executable, "-c", TCP_CLIENT, vip, str(port), str(count)).stdout
        return {name: int(n) for name, n in (item.split("=") for item in output.split())}

    def stop_processes(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def destroy(self) -> None:
        self.stop_processes()
        for namespace in self.namespaces:
            run("ip", "netns", "del", namespace, check=False)


def received(logs: list[Path], port: int) -> list[dict[int, int]]:
    """Per real: source port -> datagrams received on `port`."""
    result = []
    for path in logs:
        counts: dict[int, int] = {}
        for line in path.read_text().splitlines():
            dport, _, sport = line.split()
            if int(dport) == port:
                counts[int(sport)] = counts.get(int(sport), 0) + 1
        result.append(counts)
    return result


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
