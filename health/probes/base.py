"""Dispatch a target to its probe, time it, and turn every failure into a reason (never an exception)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass

from health.probes.common import ProbeFailed
from health.probes.dns_probe import probe_dns
from health.probes.http import probe_http
from health.probes.tcp import probe_tcp
from health.probes.udp import probe_udp
from health.targets import Target

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    ok: bool
    seconds: float
    reason: str  # "ok", or why the probe failed: shown by `gslb health status` and in logs


_PROBES = {"http": probe_http, "https": probe_http, "tcp": probe_tcp, "dns": probe_dns, "udp": probe_udp}


async def probe(target: Target) -> ProbeOutcome:
    kind = target.check.type
    run = _PROBES.get(kind)
    started = time.perf_counter()
    if run is None:  # the policy model knows no other type; a newer writer's type fails, loudly
        return ProbeOutcome(False, 0.0, f"unsupported check type {kind!r}")
    try:
        async with asyncio.timeout(target.check.timeout):
            await run(target)
    except TimeoutError:
        return ProbeOutcome(False, time.perf_counter() - started, f"timed out after {target.check.timeout} s")
    except ProbeFailed as exc:
        return ProbeOutcome(False, time.perf_counter() - started, str(exc))
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
        return ProbeOutcome(False, time.perf_counter() - started, reason)
    except Exception as exc:  # a probe bug must fail this probe, not stop the target's schedule
        log.exception("probe of %s failed unexpectedly", target.key)
        return ProbeOutcome(False, time.perf_counter() - started, f"probe error: {type(exc).__name__}: {exc}")
    return ProbeOutcome(True, time.perf_counter() - started, "ok")
