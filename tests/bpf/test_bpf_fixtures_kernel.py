"""The packet fixtures against the kernel program (BPF_PROG_TEST_RUN), and model == program on many flows."""

from __future__ import annotations

import random

import pytest
from xdp_fixtures import CLIENT_MAC, FIXTURES, LIMITS, OUR_MAC, REAL_MACS, Fixture, fixture_tables
from xdp_helpers import needs_root

from bpf.model import ForwarderModel
from bpf.packets import flow_frame
from bpf.plan import plan_tables
from bpf.tables import clear_connections, read_counters, write_tables
from bpf.testrun import test_run
from gslb.policy.l4 import VipSpec

pytestmark = needs_root


@pytest.fixture
def fixture_program(small_program):  # type: ignore[no-untyped-def]
    tables = fixture_tables()
    assert small_program.sizes.ring_max == LIMITS.ring_max
    write_tables(small_program, tables, None)
    clear_connections(small_program)
    yield small_program
    write_tables(small_program, plan_tables([], {}, {}, encap_src="0.0.0.0", limits=LIMITS), tables)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_program_matches_fixture(fixture_program, fixture: Fixture) -> None:  # type: ignore[no-untyped-def]
    result = test_run(fixture_program.fd, fixture.frame)
    assert result.verdict == fixture.verdict, result.verdict_name
    assert result.output == (fixture.frame if fixture.output is None else fixture.output)


def _weighted_spec(name: str, address: str, reals: list[str]) -> VipSpec:
    return VipSpec.model_validate(
        {
            "tenant": "t",
            "name": name,
            "address": address,
            "port": 443,
            "protocol": "tcp",
            "reals": [{"address": real, "weight": 100 * (i + 1)} for i, real in enumerate(reals)],
            "maglev_table_size": 4099,
        }
    )


@pytest.mark.parametrize(
    ("vip", "reals", "clients"),
    [
        ("10.100.0.9", ["10.0.0.11", "10.0.0.12", "10.0.0.13"], "198.51.100.{}"),
        ("2001:db8:100::9", ["2001:db8::21", "10.0.0.12", "2001:db8::23"], "2001:db8:c::{:x}"),
    ],
    ids=["ipv4", "ipv6"],
)
def test_model_and_program_agree_on_many_flows(
    small_program, vip: str, reals: list[str], clients: str
) -> None:  # type: ignore[no-untyped-def]
    spec = _weighted_spec("spread", vip, reals)
    tables = plan_tables([spec], {}, REAL_MACS, encap_src="10.0.0.2", encap_src6="2001:db8::2", limits=LIMITS)
    write_tables(small_program, tables, None)
    clear_connections(small_program)
    model = ForwarderModel(tables)
    rng = random.Random(7)
    frames = [
        flow_frame(
            eth_dst=OUR_MAC,
            eth_src=CLIENT_MAC,
            src=clients.format(rng.randrange(1, 255)),
            dst=vip,
            proto="tcp",
            sport=rng.randrange(1024, 65536),
            dport=443,
        )
        for _ in range(600)
    ]
    try:
        for frame in frames + frames[:50]:  # the repeats go through the connection table
            verdict, output = model.process(frame)
            result = test_run(small_program.fd, frame)
            assert (result.verdict, result.output) == (verdict, output)
        vips, counters = read_counters(small_program, tables)
        assert vips["t/spread"].packets == 650
        counts = {address: counters[f"t/spread|{address}"].packets for address in reals}
        model_counts = {real.address: model.real_stats[i].packets for i, real in tables.reals.items()}
        assert counts == model_counts
        # weights 1:2:3 over 650 packets: each share within 25% of its expectation
        for address, share in zip(reals, (1 / 6, 2 / 6, 3 / 6), strict=True):
            assert abs(counts[address] - 650 * share) < 0.25 * 650 * share, counts
    finally:
        write_tables(small_program, plan_tables([], {}, {}, encap_src="0.0.0.0", limits=LIMITS), tables)


def _real_of(output: bytes) -> bytes:
    return output[:6]  # the destination MAC names the real


def test_removing_a_real_rehashes_few_other_flows_in_the_kernel(small_program) -> None:  # type: ignore[no-untyped-def]
    # without the connection table (cleared), what moves is Maglev's doing alone
    reals = ["10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14"]
    spec = _weighted_spec("maglev", "10.100.0.9", reals)
    spec = spec.model_copy(update={"reals": tuple(r.model_copy(update={"weight": 100}) for r in spec.reals)})
    before_tables = plan_tables([spec], {}, REAL_MACS, encap_src="10.0.0.2", limits=LIMITS)
    write_tables(small_program, before_tables, None)
    clear_connections(small_program)
    rng = random.Random(11)
    frames = [
        flow_frame(
            eth_dst=OUR_MAC,
            eth_src=CLIENT_MAC,
            src=f"203.0.113.{rng.randrange(1, 255)}",
            dst="10.100.0.9",
            proto="tcp",
            sport=rng.randrange(1024, 65536),
            dport=443,
        )
        for _ in range(1000)
    ]
    try:
        before = [_real_of(test_run(small_program.fd, frame).output) for frame in frames]
        removed = REAL_MACS["10.0.0.12"]
        smaller = spec.model_copy(
            update={"reals": tuple(r for r in spec.reals if str(r.address) != "10.0.0.12")}
        )
        after_tables = plan_tables(
            [smaller], {}, REAL_MACS, encap_src="10.0.0.2", limits=LIMITS, previous=before_tables
        )
        write_tables(small_program, after_tables, before_tables)
        clear_connections(small_program)
        after = [_real_of(test_run(small_program.fd, frame).output) for frame in frames]
        assert removed not in after
        others = [(b, a) for b, a in zip(before, after, strict=True) if b != removed]
        moved = sum(1 for b, a in others if b != a) / len(others)
        assert moved <= 1 / 4 + 0.05, moved
        before_tables = after_tables
    finally:
        write_tables(
            small_program, plan_tables([], {}, {}, encap_src="0.0.0.0", limits=LIMITS), before_tables
        )
