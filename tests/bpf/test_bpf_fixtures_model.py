"""The packet fixtures against the pure reference model (runs everywhere, no BPF needed)."""

from __future__ import annotations

import pytest
from xdp_fixtures import FIXTURES, Fixture, fixture_tables

from bpf.model import ForwarderModel


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_model_matches_fixture(fixture: Fixture) -> None:
    model = ForwarderModel(fixture_tables())
    verdict, output = model.process(fixture.frame)
    assert verdict == fixture.verdict
    assert output == (fixture.frame if fixture.output is None else fixture.output)


def test_fixture_tables_are_what_the_fixtures_assume() -> None:
    tables = fixture_tables()
    assert tables.problems == ()
    assert len(tables.vips) == 8
    drained = tables.vips[("10.100.0.4", 80, 6)]
    assert set(drained.ring) == {0xFFFFFFFF}
