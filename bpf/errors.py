"""The bpf package's exceptions: every message says what to do."""

from __future__ import annotations


class BpfError(Exception):
    """Loading, attaching or talking to the XDP program failed."""


class BccUnavailableError(BpfError):
    """BCC (Debian python3-bpfcc) or a kernel build tree is missing."""
