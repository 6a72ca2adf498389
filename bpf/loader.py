"""Compile bpf/c/forwarder.c with BCC, load it, attach it to an interface and detach it again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bpf.errors import BccUnavailableError, BpfError

log = logging.getLogger(__name__)

C_DIR = Path(__file__).resolve().parent / "c"
ENTRY = "xdp_lb"

# linux/if_link.h XDP_FLAGS_*
XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0
XDP_FLAGS_SKB_MODE = 1 << 1
XDP_FLAGS_DRV_MODE = 1 << 2

AttachMode = Literal["auto", "native", "generic"]


@dataclass(frozen=True, slots=True)
class ProgramSizes:
    """Map sizes, fixed at compile time. The rings array takes max_vips * ring_max * 4 bytes."""

    max_vips: int = 64
    max_reals: int = 1024
    ring_max: int = 65537
    conn_max: int = 65536

    def cflags(self) -> list[str]:
        return [
            f"-DMAX_VIPS={self.max_vips}",
            f"-DMAX_REALS={self.max_reals}",
            f"-DRING_MAX={self.ring_max}",
            f"-DCONN_MAX={self.conn_max}",
        ]


def import_bcc() -> Any:
    try:
        import bcc
    except ImportError:
        bcc = None
    if bcc is None or not hasattr(bcc, "BPF"):
        raise BccUnavailableError(
            "BCC is not importable from this Python: run scripts/setup_bcc.sh (installs Debian "
            "python3-bpfcc and exposes it; the PyPI package named 'bcc' is unrelated)"
        )
    return bcc


class LoadedProgram:
    """The compiled forwarder: its maps and its XDP function. close() unloads (detach first)."""

    def __init__(self, sizes: ProgramSizes | None = None, *, source: Path | None = None) -> None:
        bcc = import_bcc()
        self.sizes = sizes or ProgramSizes()
        self._bcc = bcc
        path = source or C_DIR / "forwarder.c"
        try:
            self.bpf = bcc.BPF(src_file=str(path).encode(), cflags=[f"-I{C_DIR}", *self.sizes.cflags()])
            self.function = self.bpf.load_func(
                (ENTRY if source is None else _first_function(path)).encode(), bcc.BPF.XDP
            )
        except Exception as exc:  # BCC raises bare Exception on compile/verifier errors
            raise BpfError(
                f"could not compile or load {path.name}: {exc}. Is the kernel build tree there "
                "(/lib/modules/$(uname -r)/build)? scripts/setup_bcc.sh sets it up."
            ) from None
        self.attached: list[tuple[str, int]] = []

    @property
    def fd(self) -> int:
        return int(self.function.fd)

    def table(self, name: str) -> Any:
        return self.bpf[name.encode()]

    def attach(self, device: str, mode: AttachMode = "auto") -> str:
        """Attach to `device`; in auto mode native (driver) first, generic (skb) if the driver refuses.
        Returns the mode used."""
        tries: list[tuple[str, int]] = []
        if mode in ("auto", "native"):
            tries.append(("native", XDP_FLAGS_DRV_MODE))
        if mode in ("auto", "generic"):
            tries.append(("generic", XDP_FLAGS_SKB_MODE))
        errors = []
        for name, flags in tries:
            try:
                self.bpf.attach_xdp(device, self.function, flags)
            except Exception as exc:  # BCC raises bare Exception
                errors.append(f"{name}: {exc}")
                continue
            self.attached.append((device, flags))
            log.info("XDP forwarder attached to %s in %s mode", device, name)
            return name
        raise BpfError(f"cannot attach XDP to {device!r} ({'; '.join(errors)}); does the interface exist?")

    def detach_all(self) -> None:
        while self.attached:
            device, flags = self.attached.pop()
            try:
                self._bcc.BPF.remove_xdp(device, flags)
            except Exception as exc:  # the interface may be gone already (netns deleted)
                log.warning("detaching XDP from %s: %s", device, exc)

    def close(self) -> None:
        self.detach_all()
        self.bpf.cleanup()


def _first_function(path: Path) -> str:
    """Entry point of an ad-hoc program (tests): the last `int name(struct xdp_md *ctx)` in it."""
    import re

    names = re.findall(r"int\s+(\w+)\s*\(\s*struct\s+xdp_md", path.read_text())
    if not names:
        raise BpfError(f"{path} has no function taking struct xdp_md *")
    return str(names[-1])
