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


def _weighted_spec() -> VipSpec:
    return VipSpec.model_validate(
        {
            "tenant": "t",
            "name": "spread",
            "address": "10.100.0.9",
            "port": 443,
            "protocol": "tcp",
            "reals": [
                {"address": "10.0.0.11", "weight": 100},
                {"address": "10.0.0.12", "weight": 200},
                {"address": "10.0.0.13", "weight": 300},
            ],
            "maglev_table_size": 4099,
        }
    )


def test_model_and_program_agree_on_many_flows(small_program) -> None:  # type: ignore[no-untyped-def]
    tables = plan_tables([_weighted_spec()], {}, REAL_MACS, encap_src="10.0.0.2", limits=LIMITS)
    write_tables(small_program, tables, None)
    clear_connections(small_program)
    model = ForwarderModel(tables)
    rng = random.Random(7)
    frames = [
        flow_frame(
            eth_dst=OUR_MAC,
            eth_src=CLIENT_MAC,
            src=f"198.51.100.{rng.randrange(1, 255)}",
            dst="10.100.0.9",
            proto="tcp",
            sport=rng.randrange(1024, 65536),
            dport=443,
        )
        for _ in range(600)
    ]
    try:
        before, _ = read_counters(small_program, tables)
        for frame in frames + frames[:50]:  # the repeats go through the connection table
            verdict, output = model.process(frame)
            result = test_run(small_program.fd, frame)
            assert (result.verdict, result.output) == (verdict, output)
        vips, reals = read_counters(small_program, tables)
        assert vips["t/spread"].packets - before["t/spread"].packets == 650
        counts = {
            address: reals[f"t/spread|{address}"].packets
            for address in ("10.0.0.11", "10.0.0.12", "10.0.0.13")
        }
        model_counts = {real.address: model.real_stats[i].packets for i, real in tables.reals.items()}
        assert counts == model_counts
        # weights 1:2:3 over 650 packets: each share within 25% of its expectation
        for address, share in (("10.0.0.11", 1 / 6), ("10.0.0.12", 2 / 6), ("10.0.0.13", 3 / 6)):
            assert abs(counts[address] - 650 * share) < 0.25 * 650 * share, counts
    finally:
        write_tables(small_program, plan_tables([], {}, {}, encap_src="0.0.0.0", limits=LIMITS), tables)
