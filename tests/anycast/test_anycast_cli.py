"""`gslb anycast` refuses bad options before it ever talks to ExaBGP or the store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bad_options_are_all_reported_with_usage_exit_code(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = ["--local-as", "0", "--interval", "0.01", "--check-expect", "bogus", "--only", "acme"]
    args += ["--rise", "0"]
    result = subprocess.run(
        [sys.executable, "-m", "gslb", "anycast", "--data-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert result.returncode == 2
    assert result.stdout == ""  # stdout is ExaBGP's command channel: nothing but commands
    for expected in (
        "--local-as 0 is not an AS number",
        "--interval 0.01 must be between 0.05 and 60 seconds",
        "--check-expect 'bogus' is not an IP address",
        "--only 'acme': write TENANT/NAME",
        "--rise and --fall must be at least 1",
    ):
        assert expected in result.stderr
