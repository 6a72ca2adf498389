"""Shared fixtures: the demo geography built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from geodata.build import build_mmdb_from_csv, demo_csv_path


@pytest.fixture(scope="session")
def demo_mmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("geodata") / "demo.mmdb"
    build_mmdb_from_csv(demo_csv_path(), path, build_epoch=1_700_000_000)
    return path
