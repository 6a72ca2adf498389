"""schemathesis against /v1/openapi.json of a running API: no server error, no response that breaks
the schema, no undocumented status or content type. Bounded: a few examples per operation."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gslb.api.endpoints import ENDPOINTS
from tests.api.conftest import make_tenant, make_zone, start_api

SCHEMATHESIS_BUDGET = 90.0  # seconds; the run normally takes well under half of it


def schemathesis_command() -> list[str]:
    """The schemathesis CLI of this interpreter (its `st` script may not be on PATH)."""
    try:
        import schemathesis.cli  # noqa: F401
    except ImportError:
        pytest.fail("schemathesis is not installed: pip install -e '.[test]' (scripts/test.sh does)")
    return [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis(prog_name='st')"]


async def test_schemathesis_finds_no_server_error_or_schema_violation(
    redis_server: Any, tmp_path: Path
) -> None:
    async for api in start_api(redis_server.url):
        await make_tenant(api.client, "acme")
        await make_zone(
            api.client, "acme", "example.com.", {"name": "www", "type": "A", "values": ["192.0.2.1"]}
        )
        deterministic = ["--seed", "1"] if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else []
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *schemathesis_command(),
            "run",
            f"{api.base}/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {api.client.token}",
            "--checks",
            # ignored_auth: every operation refuses requests without (or with a wrong) token.
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,"
            "ignored_auth",
            "--phases",
            "coverage,fuzzing",
            "--max-examples",
            "3",
            "--workers",
            "1",  # hypothesis in several threads has raised internal errors of its own
            "--no-color",
            "--generation-database",
            "none",
            "--warnings",
            "off",
            *deterministic,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "PATH": os.environ["PATH"]},
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), SCHEMATHESIS_BUDGET)
        except TimeoutError:
            process.kill()
            pytest.fail(f"schemathesis ran longer than {SCHEMATHESIS_BUDGET} s")
        text = output.decode(errors="replace")
        elapsed = time.monotonic() - started
        print(f"schemathesis: {elapsed:.1f} s; {text.strip().splitlines()[-1]}")
        assert process.returncode == 0, text[-6000:]
        assert "No issues found" in text and f"Tested: {len(ENDPOINTS)}" in text, text[-3000:]
        # The server survived it all.
        assert (await api.client.get("/healthz")).status == 200
