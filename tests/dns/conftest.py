"""Fixtures shared by the DNS tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from geodata.build import build_mmdb_from_csv, demo_csv_path
from geodata.lookup import GeoDatabase


@pytest.fixture(scope="session")
def demo_geo(tmp_path_factory: pytest.TempPathFactory) -> GeoDatabase:
    """The bundled demo geography: 127.0.N.0/24 are clients around the world (geodata/demo)."""
    path: Path = tmp_path_factory.mktemp("geo") / "demo.mmdb"
    build_mmdb_from_csv(demo_csv_path(), path, build_epoch=1_700_000_000)
    return GeoDatabase.open(path)
