"""XDP L4 forwarder benchmark: per-packet cost by BPF_PROG_TEST_RUN, and packets per second forwarded
in network namespaces by the XDP program and by Linux IPVS (direct routing) under the same traffic
generator (trafgen) in the same run. Run as root by tests/bench/run_l4.sh, not by the test suite.

Topology: tests/bpf/netns_topology.py (client, forwarder, three reals on a bridge). The reals strip
IP-in-IP with `gslb l4 decap`; a packet counts as forwarded when a real's stack received it for
the VIP (its UdpNoPorts counter: nothing listens there), so frames the bridge floods do not count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "bpf"))
sys.path.insert(0, str(ROOT))

from netns_topology import CLIENT, FORWARDER, REALS, Topology, run, wait_until  # noqa: E402

from bpf.loader import LoadedProgram, ProgramSizes  # noqa: E402
from bpf.packets import flow_frame, mac_bytes  # noqa: E402
from bpf.plan import Limits, plan_tables  # noqa: E402
from bpf.tables import write_tables  # noqa: E402
from bpf.testrun import XDP_PASS, XDP_TX, test_run  # noqa: E402
from gslb.policy.l4 import VipSpec  # noqa: E402
from gslb.store import DocRef, Put, open_store  # noqa: E402

VIP = "10.201.100.1"
PORT = 7000
PASS_PROGRAM = """
#include <uapi/linux/bpf.h>
/* on the switch side of the forwarder's veth: native XDP_TX on veth needs an XDP program on the peer */
int xdp_pass_all(struct xdp_md *ctx) { return XDP_PASS; }
"""


def _spec(name: str, address: str, forwarding: str) -> VipSpec:
    return VipSpec.model_validate(
        {
            "tenant": "bench",
            "name": name,
            "address": address,
            "port": PORT,
            "protocol": "udp",
            "forwarding": forwarding,
            "reals": [{"address": real, "weight": 100} for real in REALS],
            "maglev_table_size": 65537,
        }
    )


def per_packet_cost(repeat: int, single_runs: int = 20_000) -> dict[str, float]:
    """ns per packet for one established flow, as the kernel times it.

    BPF_PROG_TEST_RUN with repeat runs the program again on the *modified* frame, so a repeated
    run of an IP-in-IP case would time the pass path of the encapsulated packet after the first
    iteration. The "single" figures therefore average `single_runs` runs of repeat=1 (they include
    the kernel's per-call timer overhead, shown by the pass case); "repeated" figures are given
    where the output frame takes the same path again (MAC rewrite, pass)."""
    program = LoadedProgram(ProgramSizes(max_vips=4, max_reals=16, ring_max=65537, conn_max=65536))
    try:
        macs = {real: mac_bytes(f"02:00:00:00:00:{11 + i:02x}") for i, real in enumerate(REALS)}
        specs = [_spec("ipip", VIP, "ipip"), _spec("l2", "10.201.100.2", "l2")]
        tables = plan_tables(specs, {}, macs, encap_src=FORWARDER, limits=Limits(4, 16, 65537))
        write_tables(program, tables, None)
        frame = {
            "eth_dst": "02:00:00:00:00:02",
            "eth_src": "02:00:00:00:00:01",
            "src": CLIENT,
            "proto": "udp",
        }
        cases = {
            "ipip": (flow_frame(**frame, dst=VIP, sport=40000, dport=PORT), XDP_TX, False),
            "l2": (flow_frame(**frame, dst="10.201.100.2", sport=40000, dport=PORT), XDP_TX, True),
            "pass (not a VIP)": (
                flow_frame(**frame, dst="10.201.9.9", sport=40000, dport=PORT),
                XDP_PASS,
                True,
            ),
        }
        result = {}
        for name, (data, verdict, repeatable) in cases.items():
            first = test_run(program.fd, data)  # creates the connection entry
            assert first.verdict == verdict, (name, first.verdict_name)
            total = sum(test_run(program.fd, data).duration_ns for _ in range(single_runs))
            result[f"{name}, single"] = round(total / single_runs, 1)
            if repeatable:
                measured = test_run(program.fd, data, repeat=repeat)
                assert measured.verdict == verdict, (name, measured.verdict_name)
                result[f"{name}, repeated"] = float(measured.duration_ns)
        # the per-call timer overhead, seen as the pass case's single minus repeated figure
        overhead = result["pass (not a VIP), single"] - result["pass (not a VIP), repeated"]
        result["ipip, single minus timer overhead (estimate)"] = round(result["ipip, single"] - overhead, 1)
        return result
    finally:
        program.close()


def _rx_packets(topology: Topology, namespace: str) -> int:
    shown = json.loads(topology.ns(namespace, "ip", "-s", "-j", "link", "show", "eth0").stdout)
    return int(shown[0]["stats64"]["rx"]["packets"])


def _udp_no_ports(topology: Topology, namespace: str) -> int:
    """Datagrams the real's stack received for a port nobody listens on: our traffic to the VIP,
    delivered (decapsulated, addressed to the VIP). Frames flooded by the bridge do not count."""
    lines = [line.split() for line in topology.ns(namespace, "cat", "/proc/net/snmp").stdout.splitlines()]
    names, values = [line for line in lines if line[0] == "Udp:"][:2]
    return int(values[names.index("NoPorts")])


def _delivered(topology: Topology) -> int:
    return sum(_udp_no_ports(topology, namespace) for namespace in topology.reals)


def _trafgen_config(topology: Topology, workdir: Path, flows: int) -> Path:
    forwarder_mac = json.loads(topology.ns(topology.forwarder, "ip", "-j", "link", "show", "eth0").stdout)[0][
        "address"
    ]
    client_mac = json.loads(topology.ns(topology.client, "ip", "-j", "link", "show", "eth0").stdout)[0][
        "address"
    ]
    path = workdir / "trafgen.cfg"
    path.write_text(
        "{\n"
        f"  eth(da={forwarder_mac}, sa={client_mac}),\n"
        f"  ipv4(saddr={CLIENT}, daddr={VIP}, ttl=64),\n"
        f"  udp(sport=dinc(10000, {10000 + flows - 1}, 1), dport={PORT}),\n"
        "  fill(0x41, 18),\n"
        "}\n"
    )
    return path


def offered_and_forwarded(topology: Topology, config: Path, seconds: float) -> tuple[float, float]:
    """Run trafgen for `seconds` on the client; (packets/s that reached the forwarder's interface,
    packets/s delivered to the VIP on the reals)."""
    before = _delivered(topology)
    offered_before = _rx_packets(topology, topology.forwarder)
    started = time.monotonic()
    subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            topology.client,
            "timeout",
            "-s",
            "INT",
            str(seconds),
            "trafgen",
            "--dev",
            "eth0",
            "--conf",
            str(config),
            "--cpus",
            "1",
            "-q",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=seconds + 20,
        check=False,
    )
    elapsed = time.monotonic() - started
    time.sleep(0.3)  # let queues drain
    offered = _rx_packets(topology, topology.forwarder) - offered_before
    return offered / elapsed, (_delivered(topology) - before) / elapsed


def _start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    socket_path = workdir / "redis.sock"
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not wait_until(socket_path.exists, 10):
        raise RuntimeError("redis-server did not start")
    return process, f"unix://{socket_path}"


async def _put_vip(url: str) -> int:
    store = await open_store(url, data_dir=Path("/nonexistent"))
    try:
        spec = _spec("bench", VIP, "ipip")
        return await store.commit([Put(DocRef("vip", "bench/bench"), "bench", spec.model_dump(mode="json"))])
    finally:
        await store.close()


def xdp_run(
    topology: Topology, workdir: Path, url: str, mode: str, config: Path, seconds: float
) -> dict[str, float]:
    peer_pass = None
    if mode == "native":
        source = workdir / "pass.c"
        source.write_text(PASS_PROGRAM)
        # the switch-side peer of the forwarder's veth is p1 (see Topology.create)
        peer_pass = topology.start(
            topology.switch,
            [sys.executable, "-c", _ATTACH_PASS, str(source)],
            ready="attached",
            log=workdir / "pass.log",
        )
    controller = topology.start(
        topology.forwarder,
        [
            sys.executable,
            "-m",
            "gslb",
            "-q",
            "l4",
            "run",
            "--redis-url",
            url,
            "--dev",
            "eth0",
            "--mode",
            mode,
        ],
        ready=f"gslb l4: forwarding on eth0 ({mode} mode)",
        log=workdir / f"controller-{mode}.log",
    )
    try:
        time.sleep(0.5)
        offered, forwarded = offered_and_forwarded(topology, config, seconds)
    finally:
        for process in (controller, peer_pass):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
    return {"offered_pps": offered, "forwarded_pps": forwarded}


_ATTACH_PASS = """
import signal, sys
from pathlib import Path
from bpf.loader import LoadedProgram
program = LoadedProgram(source=Path(sys.argv[1]))
program.attach("p1", "native")
print("attached", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
program.close()
"""


def ipvs_run(topology: Topology, workdir: Path, config: Path, seconds: float) -> dict[str, float] | str:
    probe = topology.ns(topology.forwarder, "ipvsadm", "-Ln", check=False)
    if probe.returncode != 0:
        kernel = run("uname", "-r").stdout.strip()
        return f"IPVS unavailable in kernel {kernel}: {probe.stderr.strip().splitlines()[0]}"
    fwd = topology.forwarder
    topology.ns(fwd, "ip", "addr", "add", f"{VIP}/32", "dev", "lo")
    topology.ns(fwd, "ipvsadm", "-A", "-u", f"{VIP}:{PORT}", "-s", "mh")
    for real in REALS:
        topology.ns(fwd, "ipvsadm", "-a", "-u", f"{VIP}:{PORT}", "-r", real, "-g")
    try:
        offered, forwarded = offered_and_forwarded(topology, config, seconds)
    finally:
        topology.ns(fwd, "ipvsadm", "-C", check=False)
        topology.ns(fwd, "ip", "addr", "del", f"{VIP}/32", "dev", "lo", check=False)
    return {"offered_pps": offered, "forwarded_pps": forwarded}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="traffic per forwarder (bounded)")
    parser.add_argument("--flows", type=int, default=1024, help="distinct source ports in the traffic")
    parser.add_argument("--repeat", type=int, default=1_000_000, help="BPF_PROG_TEST_RUN repetitions")
    args = parser.parse_args()
    seconds = min(args.seconds, 30.0)
    for tool in ("trafgen", "redis-server"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: run tests/bench/run_l4.sh", file=sys.stderr)
            return 1

    report: dict[str, object] = {"test_run_ns_per_packet": per_packet_cost(args.repeat)}
    workdir = Path(tempfile.mkdtemp(prefix="bench-l4-"))
    topology = Topology(workdir)
    redis, url = _start_redis(workdir)
    try:
        topology.create()
        for namespace in topology.reals:
            topology.start(
                namespace,
                [sys.executable, "-m", "gslb", "l4", "decap", "--dev", "eth0", "--mode", "generic"],
                ready="gslb l4 decap: on eth0",
                log=workdir / f"{namespace}.decap.log",
            )
        asyncio.run(_put_vip(url))
        config = _trafgen_config(topology, workdir, args.flows)
        for mode in ("generic", "native"):
            report[f"xdp_{mode}"] = xdp_run(topology, workdir, url, mode, config, seconds)
        report["ipvs_dr"] = ipvs_run(topology, workdir, config, seconds)
    finally:
        topology.destroy()
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    ipvs = report["ipvs_dr"]
    best_xdp = max(report[f"xdp_{m}"]["forwarded_pps"] for m in ("generic", "native"))  # type: ignore[index]
    report["ratio_xdp_to_ipvs"] = (
        round(best_xdp / ipvs["forwarded_pps"], 2)
        if isinstance(ipvs, dict) and ipvs["forwarded_pps"]
        else None
    )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
