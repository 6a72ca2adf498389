"""Process plumbing shared by the long-running commands: event loop, stop signals, forked workers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from gslb.commands.common import UserFacingError

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def run_event_loop(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run `coroutine` on uvloop when available; a UserFacingError becomes its message and exit code."""
    try:
        import uvloop

        return int(uvloop.run(coroutine))
    except ImportError:  # uvloop is optional
        return int(asyncio.run(coroutine))
    except UserFacingError as exc:
        print(f"gslb: {exc}", file=sys.stderr)
        return exc.exit_code


async def wait_for_stop() -> None:
    """Return on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    # Workers are forked with these signals blocked (run_forked): one that came during start-up
    # is delivered now, to the handler above, instead of killing a half-started worker.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    await stop.wait()


def run_forked(count: int, run_one: Callable[[int], int]) -> int:
    """Run `run_one(index)` in `count` forked processes; forward stop signals; the worst exit code.

    `run_one` must reach `wait_for_stop` to be stoppable: stop signals stay blocked in a worker
    until then, so one sent while it starts up waits instead of killing it half-started.
    """
    children: list[int] = []
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # child: its own event loop and store connection
            code = 1
            try:
                code = run_one(index)
            finally:
                os._exit(code)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    worst = 0
    for child in children:
        _pid, status = os.waitpid(child, 0)
        worst = max(worst, os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)
    return worst
