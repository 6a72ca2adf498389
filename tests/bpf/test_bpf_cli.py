"""`gslb l4` refuses bad options with messages that say what to fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from xdp_helpers import needs_root


def _gslb(*argv: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gslb", *argv, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--ring-max", "100"], "--ring-max must be a prime"),
        (["--max-vips", "0"], "--max-vips must be 1..4096"),
        (["--conn-max", "1"], "--conn-max must be at least 16"),
        (["--encap-source", "2001:db8::1"], "--encap-source '2001:db8::1' is not an IPv4 address"),
        (["--encap-source6", "10.0.0.1"], "--encap-source6 '10.0.0.1' is not an IPv6 address"),
        (["--metrics", "9108"], "--metrics '9108': use HOST:PORT"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, options: list[str], message: str) -> None:
    result = _gslb("l4", "run", "--dev", "lo", *options, data_dir=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr


@needs_root
def test_a_missing_interface_is_reported(tmp_path: Path, bcc_ready: None) -> None:
    result = _gslb(
        "l4",
        "run",
        "--dev",
        "nosuchdev0",
        "--encap-source",
        "10.0.0.1",
        "--ring-max",
        "251",
        data_dir=tmp_path,
    )
    assert result.returncode == 1
    assert "cannot attach XDP to 'nosuchdev0'" in result.stderr
    assert "Traceback" not in result.stderr
