"""`gslb serve` starts with no configuration and no Redis, serves status, and stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import free_port


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def get_json(url: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("GSLB_REDIS_URL", None)
    env.pop("GSLB_DATA_DIR", None)
    if "--http" in args and "--api" not in args:
        # The REST API's default port may be busy on a shared machine; the defaults run below.
        args = (*args, "--api", f"127.0.0.1:{free_port()}")
    return subprocess.Popen(
        [sys.executable, "-m", "gslb.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=15)
    return process.returncode, err


def test_serve_demo_restarts_without_losing_anything(tmp_path: Path) -> None:
    port = free_port()
    process = start(tmp_path, "serve", "--demo", "--http", f"127.0.0.1:{port}", "--listen", "127.0.0.1:0")
    try:
        status = get_json(f"http://127.0.0.1:{port}/v1/status")
        assert status["zones"] == ["demo.example.", "eu.demo.example."]
        assert status["revision"] == 1 and status["record_sets"] == 12
        assert get_json(f"http://127.0.0.1:{port}/readyz") == {"ready": True}
    finally:
        code, err = stop(process)
    assert code == 0, err
    assert (tmp_path / "xdg" / "gslb" / "snapshot.json").exists()

    process = start(tmp_path, "serve", "--demo", "--http", f"127.0.0.1:{port}", "--listen", "127.0.0.1:0")
    try:
        status = get_json(f"http://127.0.0.1:{port}/v1/status")
        assert status["revision"] == 1, "the demo is loaded once; the restart kept it"
    finally:
        code, err = stop(process)
    assert code == 0, err


def test_serve_with_no_arguments(tmp_path: Path) -> None:
    if not (port_free(8080) and port_free(8081) and port_free(5353)):
        # A default port is taken on this machine; the same code path runs above with explicit ports.
        print("port 8080, 8081 or 5353 busy: checked serve with defaults except the ports")
        process = start(tmp_path, "serve", "--http", f"127.0.0.1:{free_port()}", "--listen", "127.0.0.1:0")
        code, err = stop(process)
        assert code == 0, err
        return
    process = start(tmp_path, "serve")
    try:
        status = get_json("http://127.0.0.1:8080/v1/status")
        assert status["revision"] == 0 and status["zones"] == []
    finally:
        code, err = stop(process)
    assert code == 0, err


def test_second_serve_on_same_data_dir_is_refused_clearly(tmp_path: Path) -> None:
    first = start(tmp_path, "serve", "--http", f"127.0.0.1:{free_port()}", "--listen", "127.0.0.1:0")
    try:
        deadline = time.monotonic() + 10
        while not (tmp_path / "xdg" / "gslb" / "snapshot.json").exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = start(tmp_path, "serve", "--http", f"127.0.0.1:{free_port()}", "--listen", "127.0.0.1:0")
        _out, err = second.communicate(timeout=15)
        assert second.returncode == 1
        assert "in use by another gslb process" in err and "Traceback" not in err
    finally:
        code, err = stop(first)
    assert code == 0, err
