"""BPF_PROG_TEST_RUN for XDP programs: run a loaded program on one frame without any interface."""

from __future__ import annotations

import ctypes
import platform
from dataclasses import dataclass

from bpf.errors import BpfError

XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT = range(5)
VERDICT_NAMES = {
    XDP_ABORTED: "aborted",
    XDP_DROP: "drop",
    XDP_PASS: "pass",
    XDP_TX: "tx",
    XDP_REDIRECT: "redirect",
}
# The kernel puts XDP_PACKET_HEADROOM (256) before the frame; the output can grow into it (encap).
_OUT_ROOM = 4096


class _TestRunAttr(ctypes.Structure):
    """The test-run member of union bpf_attr (linux/bpf.h). Called by raw syscall: libbcc's
    bpf_prog_test_run_opts wrapper answers EINVAL on recent kernels, the syscall does not."""

    _fields_ = [
        ("prog_fd", ctypes.c_uint32),
        ("retval", ctypes.c_uint32),
        ("data_size_in", ctypes.c_uint32),
        ("data_size_out", ctypes.c_uint32),
        ("data_in", ctypes.c_uint64),
        ("data_out", ctypes.c_uint64),
        ("repeat", ctypes.c_uint32),
        ("duration", ctypes.c_uint32),
        ("ctx_size_in", ctypes.c_uint32),
        ("ctx_size_out", ctypes.c_uint32),
        ("ctx_in", ctypes.c_uint64),
        ("ctx_out", ctypes.c_uint64),
        ("flags", ctypes.c_uint32),
        ("cpu", ctypes.c_uint32),
        ("batch_size", ctypes.c_uint32),
        ("pad", ctypes.c_uint32),
    ]


BPF_PROG_TEST_RUN = 10
_SYS_BPF = {"x86_64": 321, "aarch64": 280}


@dataclass(frozen=True, slots=True)
class RunResult:
    verdict: int
    output: bytes
    duration_ns: int  # average per repetition, as the kernel measured it

    @property
    def verdict_name(self) -> str:
        return VERDICT_NAMES.get(self.verdict, str(self.verdict))


def test_run(prog_fd: int, frame: bytes, *, repeat: int = 1) -> RunResult:
    """Run the XDP program `prog_fd` on `frame` (`repeat` times, for timing); its verdict and output."""
    machine = platform.machine()
    if machine not in _SYS_BPF:
        raise BpfError(f"BPF_PROG_TEST_RUN: no bpf syscall number known for {machine}")
    libc = ctypes.CDLL(None, use_errno=True)
    data_in = ctypes.create_string_buffer(frame, len(frame))
    data_out = ctypes.create_string_buffer(len(frame) + _OUT_ROOM)
    attr = _TestRunAttr()
    attr.prog_fd = prog_fd
    attr.data_in = ctypes.addressof(data_in)
    attr.data_size_in = len(frame)
    attr.data_out = ctypes.addressof(data_out)
    attr.data_size_out = len(data_out)
    attr.repeat = max(1, repeat)
    if libc.syscall(_SYS_BPF[machine], BPF_PROG_TEST_RUN, ctypes.byref(attr), ctypes.sizeof(attr)) != 0:
        errno = ctypes.get_errno()
        raise BpfError(f"BPF_PROG_TEST_RUN failed: {_strerror(errno)} (errno {errno}); needs root / CAP_BPF")
    return RunResult(attr.retval, data_out.raw[: attr.data_size_out], attr.duration)


def _strerror(errno: int) -> str:
    import os

    return os.strerror(errno) if errno else "unknown error"


test_run.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name
