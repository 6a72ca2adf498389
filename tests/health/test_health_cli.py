"""`gslb health` as users run it: a checker process, `status`, `disable`/`enable`, metrics; and the
checker inside `gslb serve` on the embedded store."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from gslb.cli import main
from gslb.store import DocRef, Store
from tests.conftest import free_port
from tests.health.backends import GslbDns, HttpBackend, policy_store
from tests.health.test_health_live import NAME, policy

KEY = "acme/web/127.0.0.11"


async def gslb(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a short command in a thread (its own event loop), so the test's backends keep serving."""

    def run() -> subprocess.CompletedProcess[str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
        return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())

    return await asyncio.to_thread(run)


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gslb", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    return err


async def wait_state(store: Store, key: str, state: str, timeout: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        doc = await store.get(DocRef("health", key))
        if doc is not None and doc.body["state"] == state:
            return doc.body
        if time.monotonic() > deadline:
            raise AssertionError(f"{key} is {doc.body if doc else None}, not {state}")
        await asyncio.sleep(0.02)


async def metrics(port: int) -> str:
    def fetch() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    return await asyncio.to_thread(fetch)


async def test_health_command_status_disable_enable_metrics(redis_server: Any) -> None:
    port = free_port()
    backends = [await HttpBackend(f"127.0.0.{11 + index}", port).start() for index in range(2)]
    async with policy_store(redis_server.url, policy(port)) as (store, prefix):
        opts = ["--redis-url", redis_server.url, "--prefix", prefix]
        http = free_port()
        checker = spawn(
            "health", *opts, "--site", "lab", "--http", f"127.0.0.1:{http}", "--evaluate-every", "0.2"
        )
        try:
            await wait_state(store, KEY, "up")
            status = await gslb("health", "status", *opts, "--tenant", "acme")
            assert status.returncode == 0, status.stderr
            lines = status.stdout.splitlines()
            assert lines[0].split() == ["TARGET", "STATE", "SINCE", "VOTES", "(site=state/age)", "LATENCY"]
            row = next(line for line in lines if line.startswith(KEY))
            assert row.split()[1] == "up" and "lab=up/" in row and row.endswith("ms")
            assert (
                "no health states for tenant other"
                in (await gslb("health", "status", *opts, "--tenant", "other")).stdout
            )

            exported = await metrics(http)
            assert (
                'gslb_health_state{check="web",state="up",target="127.0.0.11",tenant="acme"} 1.0' in exported
            )
            assert 'gslb_health_probe_seconds_count{type="http"}' in exported

            done = await gslb("health", "disable", *opts, KEY, "--reason", "maintenance")
            assert done.returncode == 0, done.stderr
            await wait_state(store, KEY, "disabled", timeout=0.1)  # at once, not at the next probe
            await asyncio.sleep(0.6)  # the checker keeps it disabled while probes say up
            assert (await wait_state(store, KEY, "disabled", timeout=0.1))["measured"] == "up"
            assert "disabled (maintenance)" in (await gslb("health", "status", *opts)).stdout
            assert (await gslb("health", "enable", *opts, KEY)).returncode == 0
            await wait_state(store, KEY, "up", timeout=0.1)

            bad_key = await gslb("health", "disable", *opts, "acme/web")
            assert bad_key.returncode == 2 and "is not TENANT/CHECK/TARGET" in bad_key.stderr
            no_check = await gslb("health", "disable", *opts, "acme/nope/127.0.0.11")
            assert no_check.returncode == 2 and "tenant 'acme' has no health check 'nope'" in no_check.stderr
            not_disabled = await gslb("health", "enable", *opts, KEY)
            assert not_disabled.returncode == 2 and "is not disabled" in not_disabled.stderr
            bad = await gslb("health", *opts, "--valve-share", "2", "--jitter", "1")
            assert bad.returncode == 2
            assert "--jitter is a share" in bad.stderr and "--valve-share must be above 0" in bad.stderr
        finally:
            stop(checker)
            for backend in backends:
                await backend.stop()


async def test_serve_runs_a_checker_unless_told_not_to(tmp_path: Path) -> None:
    port = free_port()
    backends = [await HttpBackend(f"127.0.0.{11 + index}", port).start() for index in range(2)]
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(policy(port))
    env = {**os.environ, "GSLB_DATA_DIR": str(tmp_path / "data")}
    env.pop("GSLB_REDIS_URL", None)
    imported = subprocess.run(
        [sys.executable, "-m", "gslb", "import", str(policy_file)], capture_output=True, text=True, env=env
    )
    assert imported.returncode == 0, imported.stderr
    dns_port, http = free_port(), free_port()
    node = spawn("serve", "--listen", f"127.0.0.1:{dns_port}", "--http", f"127.0.0.1:{http}", env=env)
    probe = GslbDns.__new__(GslbDns)  # only its query helpers: this DNS server is the node's
    probe.port, probe.process = dns_port, node
    try:
        await probe.wait_answer(NAME, {"192.0.2.1", "192.0.2.2"}, timeout=15)
        await backends[1].stop()
        await probe.wait_answer(NAME, {"192.0.2.1"}, timeout=3)
        assert (
            'gslb_health_state{check="web",state="down",target="127.0.0.12",tenant="acme"} 1.0'
            in await metrics(http)
        )
    finally:
        stop(node)
    # --no-health: the node answers from the stored states, and nothing changes them.
    node = spawn(
        "serve", "--no-health", "--listen", f"127.0.0.1:{dns_port}", "--http", f"127.0.0.1:{http}", env=env
    )
    probe.process = node
    try:
        assert await probe.answer(NAME) == {"192.0.2.1"}  # warm: the persisted state, at once
        await backends[1].start()
        await asyncio.sleep(1.0)
        assert await probe.answer(NAME) == {"192.0.2.1"}
        assert "gslb_health_state" not in await metrics(http)
    finally:
        stop(node)
        for backend in backends:
            await backend.stop()
