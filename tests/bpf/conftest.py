"""Fixtures for the XDP forwarder tests. BPF needs root: as root (CI) nothing skips, and a missing
BCC is an error pointing at scripts/setup_bcc.sh; as another user the kernel-facing tests skip."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def bcc_ready() -> None:
    from bpf.loader import import_bcc

    import_bcc()  # raises BccUnavailableError with the fix when setup_bcc.sh was not run


@pytest.fixture(scope="module")
def small_program(bcc_ready: None) -> Iterator[object]:
    """The forwarder compiled with small maps (fast to load, cheap to clear)."""
    from bpf.loader import LoadedProgram, ProgramSizes

    program = LoadedProgram(ProgramSizes(max_vips=16, max_reals=32, ring_max=4099, conn_max=4096))
    yield program
    program.close()
