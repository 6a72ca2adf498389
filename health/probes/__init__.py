"""Probes: one coroutine per check type, each returning a ProbeOutcome (never raising for a failure)."""

from health.probes.base import ProbeOutcome, probe

__all__ = ["ProbeOutcome", "probe"]
