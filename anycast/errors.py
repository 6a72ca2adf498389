"""The anycast package's exceptions: one tree, so callers catch what this edge can raise."""

from __future__ import annotations


class AnycastError(Exception):
    """Base of every error of the anycast driver."""


class ChannelClosedError(AnycastError):
    """ExaBGP closed our stdin or stdout: it exited or is restarting."""


class CommandFailedError(AnycastError):
    """ExaBGP answered `error` to a command."""
