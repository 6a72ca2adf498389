"""The forwarder for real: `gslb l4 run` in a forwarder namespace, reals with IP-in-IP decapsulation,
fed by a real redis-server (on a unix socket, reachable from every namespace)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from netns_topology import REALS, REALS6, Topology, received, run, wait_until
from xdp_helpers import needs_root

from gslb.engine.health_view import member_health_key
from gslb.store import Delete, DocRef, Put, open_store

pytestmark = [needs_root, pytest.mark.timeout(90)]

VIP = "10.201.100.1"
VIP_L2 = "10.201.100.2"
VIP6 = "fd00:201:100::1"
PORTS = [7000, 7001, 7002, 7003, 7004, 7005]


class Lab:
    def __init__(
        self,
        topology: Topology,
        redis_url: str,
        logs: list[Path],
        controller: subprocess.Popen[str],
        controller_log: Path,
    ) -> None:
        self.topology = topology
        self.controller = controller
        self.redis_url = redis_url
        self.logs = logs
        self.controller_log = controller_log

    async def _commit(self, ops: list[Any]) -> int:
        store = await open_store(self.redis_url, data_dir=Path("/nonexistent"))
        try:
            return await store.commit(ops)
        finally:
            await store.close()

    def commit(self, ops: list[Any]) -> int:
        revision = asyncio.run(self._commit(ops))
        assert wait_until(lambda: f"synced revision {revision}:" in self.controller_log.read_text(), 10), (
            self.controller_log.read_text()[-3000:]
        )
        return revision

    def put_vip(
        self, name: str, address: str, port: int, weights: list[int], reals: list[str] = REALS, **extra: Any
    ) -> int:
        body = {
            "tenant": "t",
            "name": name,
            "address": address,
            "port": port,
            "protocol": "udp",
            "reals": [
                {"address": real, "weight": weight, "health_check": "hc"}
                for real, weight in zip(reals, weights, strict=False)
            ],
            "maglev_table_size": 4099,
            **extra,
        }
        return self.commit([Put(DocRef("vip", f"t/{name}"), "t", body)])

    def set_health(self, real: str, state: str) -> int:
        return self.commit([Put(DocRef("health", member_health_key("t", "hc", real)), "t", {"state": state})])

    def spread(self, port: int) -> list[dict[int, int]]:
        return received(self.logs, port)


def _start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (scripts/test.sh installs it)")
    socket_path = workdir / "redis.sock"
    process = subprocess.Popen(
        [
            server,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
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
    assert wait_until(socket_path.exists, 10), "redis-server did not create its socket"
    return process, f"unix://{socket_path}"


@pytest.fixture(scope="module")
def lab(bcc_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("l4lab")
    topology = Topology(workdir)
    redis, url = _start_redis(workdir)
    try:
        topology.create()
        gslb = [sys.executable, "-m", "gslb"]
        # the BCC compiles run in parallel: four one-second compiles would otherwise add up
        decaps = [
            (
                topology.spawn(
                    namespace, [*gslb, "l4", "decap", "--dev", "eth0", "--mode", "generic"], log=log
                ),
                log,
            )
            for namespace in topology.reals
            for log in [workdir / f"{namespace}.decap.log"]
        ]
        logs = topology.start_receivers(PORTS)
        controller_log = workdir / "controller.log"
        controller = topology.spawn(
            topology.forwarder,
            [
                *gslb,
                "l4",
                "run",
                "--redis-url",
                url,
                "--dev",
                "eth0",
                "--mode",
                "generic",
                "--max-vips",
                "8",
                "--max-reals",
                "32",
                "--metrics",
                "127.0.0.1:9108",
                "--ring-max",
                "4099",
                "--conn-max",
                "65536",
            ],
            log=controller_log,
        )
        for process, log in decaps:
            topology.await_ready(process, "gslb l4 decap: on eth0", log)
        topology.await_ready(controller, "gslb l4: forwarding on eth0 (generic mode)", controller_log)
        yield Lab(topology, url, logs, controller, controller_log)
    finally:
        topology.destroy()
        redis.terminate()
        redis.wait(timeout=10)


def _owner(spread: list[dict[int, int]]) -> dict[int, int]:
    """source port -> index of the real that received it; asserts each flow reached one real only."""
    owner: dict[int, int] = {}
    for index, counts in enumerate(spread):
        for sport in counts:
            assert sport not in owner, f"flow {sport} reached reals {owner[sport]} and {index}"
            owner[sport] = index
    return owner


def test_flows_spread_by_weight_and_stick(lab: Lab) -> None:
    lab.put_vip("spread", VIP, 7000, [100, 200, 300])
    flows = 3000
    lab.topology.send(VIP, 7000, 20000, flows, repeats=2)
    assert wait_until(lambda: sum(sum(c.values()) for c in lab.spread(7000)) >= 2 * flows * 0.99, 10)
    spread = lab.spread(7000)
    owner = _owner(spread)  # sticky: every packet of a flow on one real
    assert len(owner) >= flows * 0.99
    for index, share in enumerate((1 / 6, 2 / 6, 3 / 6)):
        got = len(spread[index]) / len(owner)
        assert abs(got - share) <= 0.1 * share, (index, got, share)
    # each flow's packets all arrived on its real (two per flow, allowing the rare lost datagram)
    assert sum(1 for counts in spread for n in counts.values() if n == 2) >= flows * 0.98


def test_l2_dsr_reaches_every_real(lab: Lab) -> None:
    lab.put_vip("l2", VIP_L2, 7001, [100, 100, 100], forwarding="l2")
    lab.topology.send(VIP_L2, 7001, 30000, 600)
    assert wait_until(lambda: sum(len(c) for c in lab.spread(7001)) >= 594, 10)
    spread = lab.spread(7001)
    _owner(spread)
    for counts in spread:
        assert abs(len(counts) - 200) <= 40, [len(c) for c in spread]


def test_a_real_marked_down_gets_no_new_flows_within_a_second(lab: Lab) -> None:
    lab.put_vip("health", VIP, 7002, [100, 100, 100])
    lab.topology.send(VIP, 7002, 40000, 300)
    assert wait_until(lambda: sum(len(c) for c in lab.spread(7002)) >= 297, 10)
    before = _owner(lab.spread(7002))
    on_down = {sport for sport, real in before.items() if real == 1}
    assert on_down

    started = time.monotonic()
    asyncio.run(
        lab._commit([Put(DocRef("health", member_health_key("t", "hc", REALS[1])), "t", {"state": "down"})])
    )
    first = 41000
    clean_after = None
    while time.monotonic() - started < 3:
        seen_before = set(lab.spread(7002)[1])
        lab.topology.send(VIP, 7002, first, 60)
        time.sleep(0.05)
        new_on_down = set(lab.spread(7002)[1]) - seen_before - on_down
        if not new_on_down:
            clean_after = time.monotonic() - started
            break
        first += 60
    assert clean_after is not None and clean_after <= 1.0, clean_after

    # new flows avoid the down real; existing flows stay where they were (connection table)
    lab.topology.send(VIP, 7002, 42000, 200)
    lab.topology.send(VIP, 7002, 40000, 300)
    assert wait_until(lambda: sum(sum(c.values()) for c in lab.spread(7002)) >= 300 * 2 + 200 * 0.99, 10)
    after = lab.spread(7002)
    assert not any(42000 <= sport < 42200 for sport in after[1])
    assert all(after[before[sport]][sport] == 2 for sport in before)  # both packets on the same real

    lab.set_health(REALS[1], "up")


def test_a_real_without_next_hop_is_left_out_and_slows_nothing(lab: Lab) -> None:
    dead = "10.201.0.99"  # on the subnet, but nobody answers ARP for it
    lab.put_vip("dead", VIP, 7004, [100, 100, 100, 100], reals=[*REALS, dead])
    assert f"vip t/dead: no next-hop MAC for real {dead}; left out" in lab.controller_log.read_text()
    lab.topology.send(VIP, 7004, 44000, 300)
    assert wait_until(lambda: sum(len(c) for c in lab.spread(7004)) >= 297, 10)
    assert all(len(counts) > 50 for counts in lab.spread(7004))
    # later changes do not wait for the dead next hop again
    started = time.monotonic()
    lab.set_health(REALS[0], "up")
    assert time.monotonic() - started < 0.5


def test_removing_a_real_moves_only_its_flows(lab: Lab) -> None:
    lab.put_vip("remove", VIP, 7003, [100, 100, 100])
    lab.topology.send(VIP, 7003, 50000, 600)
    assert wait_until(lambda: sum(len(c) for c in lab.spread(7003)) >= 594, 10)
    before = _owner(lab.spread(7003))
    lab.put_vip("remove", VIP, 7003, [100, 100])  # REALS[2] is gone
    lab.topology.send(VIP, 7003, 50000, 600)
    assert wait_until(lambda: sum(sum(c.values()) for c in lab.spread(7003)) >= 2 * 594, 10)
    spread = lab.spread(7003)
    kept = [sport for sport, real in before.items() if real != 2]
    moved_from_removed = [sport for sport, real in before.items() if real == 2]
    assert moved_from_removed
    # the flows of the removed real went elsewhere, every other flow stayed put
    assert all(spread[2][sport] == 1 for sport in moved_from_removed)
    assert all(spread[before[sport]][sport] == 2 for sport in kept)
    moved_others = [s for s in kept if sum(1 for c in spread if s in c) > 1]
    assert len(moved_others) <= (1 / 3 + 0.05) * len(kept)


def test_ipv6_vip_over_ipv6_and_ipv4_reals(lab: Lab) -> None:
    # 6in6 to two reals, 6in4 to the middle one
    lab.put_vip("six", VIP6, 7005, [100, 100, 100], reals=[REALS6[0], REALS[1], REALS6[2]])
    lab.topology.send(VIP6, 7005, 21000, 600, repeats=2)
    assert wait_until(lambda: sum(sum(c.values()) for c in lab.spread(7005)) >= 2 * 600 * 0.99, 10)
    spread = lab.spread(7005)
    owner = _owner(spread)
    assert len(owner) >= 594
    for counts in spread:
        assert abs(len(counts) - 200) <= 40, [len(c) for c in spread]


@pytest.mark.parametrize("vip", [VIP, VIP6])
def test_tcp_connections_complete_with_direct_server_return(lab: Lab, vip: str) -> None:
    # the SYN goes through the forwarder (tunnelled), the SYN-ACK straight from the real (DSR)
    port = 8000 if vip == VIP else 8001
    lab.topology.start_tcp_servers(port)
    reals = REALS if vip == VIP else REALS6
    lab.put_vip(f"tcp{port}", vip, port, [100, 100, 100], reals=reals, protocol="tcp")
    answered = lab.topology.tcp_connections(vip, port, 90)
    assert sum(answered.values()) == 90
    assert set(answered) == set(lab.topology.reals), answered


def test_counters_are_exported_to_prometheus(lab: Lab) -> None:
    fetch = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9108/metrics').read().decode())"
    text = lab.topology.ns(lab.topology.forwarder, sys.executable, "-c", fetch).stdout
    metrics = {}
    for line in text.splitlines():
        if line.startswith("gslb_l4_"):
            name, _, value = line.rpartition(" ")
            metrics[name] = float(value)
    assert metrics['gslb_l4_vip_packets_total{vip="t/spread"}'] >= 2 * 3000 * 0.99
    per_real = [metrics[f'gslb_l4_real_packets_total{{real="{real}",vip="t/spread"}}'] for real in REALS]
    assert sum(per_real) == metrics['gslb_l4_vip_packets_total{vip="t/spread"}']
    assert metrics['gslb_l4_real_weight{real="10.201.0.13",vip="t/spread"}'] == 300


def test_removing_a_vip_passes_its_traffic_and_detach_is_clean(lab: Lab) -> None:
    lab.commit([Delete(DocRef("vip", "t/remove"))])
    lab.topology.send(VIP, 7003, 52000, 50)
    time.sleep(0.3)
    assert not any(52000 <= sport < 52050 for counts in lab.spread(7003) for sport in counts)
    forwarder = lab.controller
    forwarder.terminate()
    forwarder.wait(timeout=10)
    shown = run("ip", "netns", "exec", lab.topology.forwarder, "ip", "link", "show", "eth0").stdout
    assert "xdp" not in shown, shown
    assert "detached from eth0" in (forwarder.stdout.read() if forwarder.stdout else "")
