"""End to end: ExaBGP + `gslb anycast` + `gslb dns` on two nodes, a BIRD 2 router, a client.

The tests share one lab (building it costs a few seconds) and run in file order; each leaves the
lab as it found it: both nodes announcing, ECMP at the router.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.anycast.lab import ANYCAST, CHECK_INTERVAL, VIP, Lab, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root (CI runs as root)")

BOTH = {"198.51.100.2", "198.51.100.6"}
A, B = "198.51.100.2", "198.51.100.6"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(tmp_path_factory.mktemp("anycast-lab"))
    try:
        lab.build()
        lab.start_router()
        lab.load_policy()
        for name, address, peer in (("a", A, "198.51.100.1"), ("b", B, "198.51.100.5")):
            node = lab.add_node(name, address, peer)
            lab.start_dns(node)
            lab.start_exabgp(node)
        TIMINGS["start to ECMP"] = wait_until(
            lambda: lab.next_hops(ANYCAST) == BOTH, 30, "both nodes never announced the DNS prefix"
        )
        yield lab
    except BaseException:
        _dump_logs(lab.workdir)
        raise
    finally:
        lab.close()
        print("\nanycast timings:", json.dumps({k: round(v, 3) for k, v in TIMINGS.items()}))
    assert not any(ns in _namespaces() for ns in (lab.ns(r) for r in "rabc")), "namespaces left behind"


def _namespaces() -> str:
    return os.popen("ip netns list").read()


def _dump_logs(workdir: Path) -> None:
    for log in sorted(workdir.glob("*.log")):
        print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")


def _ecmp(lab: Lab) -> None:
    wait_until(lambda: lab.next_hops(ANYCAST) == BOTH, 15, "the ECMP route did not come back")


def test_router_installs_ecmp_route_and_client_gets_answers(lab: Lab) -> None:
    assert lab.next_hops(ANYCAST) == BOTH
    routes = lab.birdc("show", "route", "all", f"{ANYCAST}/32")
    # the `up` attributes of the spec (local-preference is not sent on eBGP)
    assert "BGP.med: 10" in routes and "(65000,53)" in routes and "(65000, 1, 53)" in routes
    assert lab.query() == "192.0.2.10"
    # The VIP is announced too (its real has no health state yet: unknown counts as up), and the
    # helper put the VIP on the node's lo so the kernel accepts its traffic.
    wait_until(lambda: lab.next_hops(VIP) == BOTH, 10, "the VIP was not announced")
    assert f"{VIP}/32" in lab.node_addresses(lab.nodes["a"])


def test_local_dns_failure_withdraws_within_a_second_and_restore_brings_ecmp_back(lab: Lab) -> None:
    node = lab.nodes["a"]
    assert node.dns is not None
    started = time.monotonic()
    node.dns.kill()
    node.dns.wait(timeout=5)
    wait_until(lambda: lab.next_hops(ANYCAST) == {B}, 5, "node a's route stayed after its DNS died", 0.002)
    TIMINGS["DNS killed to route withdrawn at router"] = withdrawn = time.monotonic() - started
    assert withdrawn <= 1.0, f"withdrawal took {withdrawn:.3f} s (goal <= 1 s at {CHECK_INTERVAL} s checks)"
    for _ in range(3):
        assert lab.query() == "192.0.2.10"  # node b answers
    lab.start_dns(node)
    TIMINGS["DNS restarted to ECMP back"] = wait_until(
        lambda: lab.next_hops(ANYCAST) == BOTH, 15, "node a did not announce again after its DNS came back"
    )
    assert lab.query() == "192.0.2.10"


def test_hung_dns_server_is_withdrawn_by_the_check_timeout(lab: Lab) -> None:
    node = lab.nodes["a"]
    assert node.dns is not None
    started = time.monotonic()
    os.kill(node.dns.pid, signal.SIGSTOP)  # alive but silent: no ICMP refusal, only timeouts
    try:
        wait_until(lambda: lab.next_hops(ANYCAST) == {B}, 5, "a hung DNS server kept its route", 0.002)
        TIMINGS["DNS hung to route withdrawn at router"] = hung = time.monotonic() - started
        assert hung <= 1.0, f"withdrawal took {hung:.3f} s (goal <= 1 s at {CHECK_INTERVAL} s checks)"
        assert lab.query() == "192.0.2.10"
    finally:
        os.kill(node.dns.pid, signal.SIGCONT)
    _ecmp(lab)


def test_vip_follows_backend_health_and_its_address(lab: Lab) -> None:
    key = "acme/web/198.51.100.200"
    lab.tool("put", lab.redis_url_a, "health", key, "acme", '{"state": "down"}')
    wait_until(lambda: not lab.next_hops(VIP), 5, "the VIP stayed announced with no healthy real")
    wait_until(lambda: f"{VIP}/32" not in lab.node_addresses(lab.nodes["a"]), 5, "the VIP stayed on lo")
    assert lab.next_hops(ANYCAST) == BOTH  # the DNS service is unaffected
    lab.tool("put", lab.redis_url_a, "health", key, "acme", '{"state": "up"}')
    wait_until(lambda: lab.next_hops(VIP) == BOTH, 5, "the VIP did not come back with its real")
    assert f"{VIP}/32" in lab.node_addresses(lab.nodes["a"])


def test_spec_that_bypassed_validation_never_reaches_exabgp(lab: Lab) -> None:
    # Written straight into the store, as a buggy or older writer might: the helper must refuse it.
    body = {
        "tenant": "acme",
        "name": "evil",
        "prefix": "192.0.2.99/32",
        "service": "dns",
        "states": {"up": {"communities": ["65000:1\nannounce route 0.0.0.0/0 next-hop self"]}},
    }
    lab.tool("put", lab.redis_url_a, "anycast", "acme/evil", "acme", json.dumps(body))
    time.sleep(4 * CHECK_INTERVAL)
    assert lab.next_hops("192.0.2.99") == set()
    assert lab.next_hops("0.0.0.0/0") == set()
    assert lab.next_hops(ANYCAST) == BOTH
    status = json.loads(lab.http(lab.nodes["a"], "GET", "/v1/status"))
    assert "acme/evil" not in {item["name"] for item in status["announcements"]}
    lab.tool("delete", lab.redis_url_a, "anycast", "acme/evil")


def test_drain_makes_the_route_less_preferred_then_withdraws(lab: Lab) -> None:
    node = lab.nodes["b"]
    node.drain_file.touch()
    try:
        # Less preferred first: BIRD keeps node b's path (MED 500, AS path prepended twice) but no
        # longer uses it, so the kernel route has node a only.
        wait_until(lambda: lab.next_hops(ANYCAST) == {A}, 5, "draining did not make node b less preferred")
        routes = lab.birdc("show", "route", "all", f"{ANYCAST}/32")
        assert "BGP.med: 500" in routes and "65001 65001 65001" in routes
        # Then, after the spec's drain_seconds (1 s), withdrawn.
        wait_until(
            lambda: "198.51.100.6" not in lab.birdc("show", "route", "all", f"{ANYCAST}/32"),
            5,
            "node b's route was not withdrawn after drain_seconds",
        )
        assert lab.query() == "192.0.2.10"
    finally:
        node.drain_file.unlink(missing_ok=True)
    _ecmp(lab)
    # The same through the control endpoint.
    assert json.loads(lab.http(node, "PUT", "/v1/drain")) == {"drain": True}
    wait_until(lambda: lab.next_hops(ANYCAST) == {A}, 5, "the API drain had no effect")
    lab.http(node, "DELETE", "/v1/drain")
    _ecmp(lab)


def test_sigterm_withdraws_explicitly_and_the_respawned_helper_announces_again(lab: Lab) -> None:
    node = lab.nodes["b"]
    (helper,) = lab.helper_pids(node)
    started = time.monotonic()
    os.kill(helper, signal.SIGTERM)
    wait_until(lambda: lab.next_hops(ANYCAST) == {A}, 5, "SIGTERM did not withdraw node b's route", 0.002)
    TIMINGS["helper SIGTERM to route withdrawn"] = time.monotonic() - started
    # The BGP session stayed up: the route went by an explicit withdrawal, not a session teardown.
    assert "Established" in lab.birdc("show", "protocols", "nb")
    # ExaBGP respawns its helper, which announces again without anyone's help.
    TIMINGS["helper respawn to ECMP back"] = wait_until(
        lambda: lab.next_hops(ANYCAST) == BOTH, 15, "the respawned helper did not announce"
    )
    assert helper not in lab.helper_pids(node)


def test_respawned_helper_withdraws_what_its_dead_predecessor_left(lab: Lab) -> None:
    extra = {"tenant": "acme", "name": "extra", "prefix": "192.0.2.54/32", "service": "dns"}
    lab.tool("put", lab.redis_url_a, "anycast", "acme/extra", "acme", json.dumps(extra))
    wait_until(lambda: lab.next_hops("192.0.2.54") == BOTH, 5, "the extra prefix was not announced")
    node = lab.nodes["b"]
    (helper,) = lab.helper_pids(node)
    # Freeze node b's helper so it cannot withdraw, remove the spec, then kill the helper: its
    # route stays in ExaBGP, and only the respawned helper's start-up reconciliation can remove it.
    os.kill(helper, signal.SIGSTOP)
    try:
        lab.tool("delete", lab.redis_url_a, "anycast", "acme/extra")
        wait_until(lambda: lab.next_hops("192.0.2.54") == {B}, 5, "node a kept the deleted prefix")
    finally:
        os.kill(helper, signal.SIGKILL)
    wait_until(lambda: not lab.next_hops("192.0.2.54"), 15, "the respawned helper left the stale route")
    _ecmp(lab)


def test_exabgp_restart_and_bgp_session_flap_are_survived(lab: Lab) -> None:
    node = lab.nodes["a"]
    assert node.exabgp is not None
    (helper,) = lab.helper_pids(node)
    node.exabgp.kill()  # ExaBGP dies without a word: its session drops, so does the route
    node.exabgp.wait(timeout=5)
    wait_until(lambda: lab.next_hops(ANYCAST) == {B}, 10, "node a's route outlived its ExaBGP")
    # The orphaned helper notices ExaBGP is gone (its stdin closed) and exits.
    wait_until(lambda: not Path(f"/proc/{helper}").exists(), 5, "the helper outlived ExaBGP")
    lab.start_exabgp(node)  # as systemd's Restart= would
    TIMINGS["ExaBGP restart to ECMP back"] = wait_until(
        lambda: lab.next_hops(ANYCAST) == BOTH, 15, "a new ExaBGP did not bring the route back"
    )
    lab.birdc("disable", "nb")
    wait_until(lambda: lab.next_hops(ANYCAST) == {A}, 5, "disabling the session did not drop node b")
    lab.birdc("enable", "nb")
    TIMINGS["BGP session back to ECMP"] = wait_until(
        lambda: lab.next_hops(ANYCAST) == BOTH, 20, "routes did not come back after the session flap"
    )
    assert lab.query() == "192.0.2.10"


def test_stopping_exabgp_withdraws_before_dns_stops(lab: Lab) -> None:
    # The systemd order: the anycast unit (ExaBGP) stops first, then the DNS server.
    node = lab.nodes["b"]
    assert node.exabgp is not None and node.dns is not None
    node.exabgp.terminate()
    node.exabgp.wait(timeout=10)
    wait_until(lambda: lab.next_hops(ANYCAST) == {A}, 5, "stopping ExaBGP left node b's route")
    assert node.dns.poll() is None
    assert lab.query() == "192.0.2.10"
