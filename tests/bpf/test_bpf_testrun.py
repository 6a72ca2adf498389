"""BCC works on this machine: a trivial XDP program compiles, loads and runs via BPF_PROG_TEST_RUN."""

from __future__ import annotations

from pathlib import Path

import pytest
from xdp_helpers import needs_root

from bpf.testrun import XDP_DROP, XDP_PASS, test_run

TRIVIAL = """
#include <uapi/linux/bpf.h>
/* drops frames of at least 64 bytes, passes shorter ones, so both verdicts are observable */
int xdp_trivial(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    return data + 64 <= data_end ? XDP_DROP : XDP_PASS;
}
"""

pytestmark = needs_root


@pytest.fixture(scope="module")
def trivial_program(bcc_ready: None, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from bpf.loader import LoadedProgram

    path = tmp_path_factory.mktemp("xdp") / "trivial.c"
    path.write_text(TRIVIAL)
    program = LoadedProgram(source=Path(path))
    yield program
    program.close()


def test_trivial_program_verdicts_follow_frame_length(trivial_program) -> None:  # type: ignore[no-untyped-def]
    short = test_run(trivial_program.fd, bytes(range(40)))
    long = test_run(trivial_program.fd, bytes(range(100)))
    assert (short.verdict, long.verdict) == (XDP_PASS, XDP_DROP)
    assert short.output == bytes(range(40))  # untouched


def test_repeat_reports_a_per_packet_duration(trivial_program) -> None:  # type: ignore[no-untyped-def]
    result = test_run(trivial_program.fd, bytes(64), repeat=10_000)
    assert result.verdict == XDP_DROP
    assert 0 < result.duration_ns < 100_000


def test_forwarder_compiles_and_passes_the_verifier(small_program) -> None:  # type: ignore[no-untyped-def]
    # An all-zero frame is not IPv4 (ethertype 0): passed untouched
    result = test_run(small_program.fd, bytes(60))
    assert result.verdict == XDP_PASS and result.output == bytes(60)
