"""A real `gslb dns` run with the command line of the DNS Deployment: what the live deploy tests share."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy_support import KUBERNETES, REPO, all_containers, render

# Straight to loopback, whatever http_proxy the environment sets.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class LiveDns:
    container: dict[str, Any]  # the container as the base kustomization renders it
    argv: list[str]  # its arguments with loopback addresses substituted
    http: tuple[str, int]
    dns: tuple[str, int]
    query_log: Path
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def get(self, path: str) -> tuple[int, bytes]:
        url = f"http://{self.http[0]}:{self.http[1]}{path}"
        try:
            with _NO_PROXY.open(url, timeout=2) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), bytes(exc.read())


def dns_container() -> dict[str, Any]:
    (container,) = [c for c in all_containers(render(KUBERNETES / "base")) if c["name"] == "dns"]
    return container


def loopback_arguments(args: list[str], *, dns_port: int, http_port: int, upstream_port: int) -> list[str]:
    """The manifest's arguments with every address moved to loopback (tests use no other network)."""
    replaced = list(args)
    substitutes = {
        "--listen": f"127.0.0.1:{dns_port}",
        "--http": f"127.0.0.1:{http_port}",
        # Nothing listens there: the test never sends a query that would be forwarded.
        "--forward": f"127.0.0.1:{upstream_port}",
    }
    for index, arg in enumerate(args[:-1]):
        if arg in substitutes:
            replaced[index + 1] = substitutes[arg]
    return replaced


def gslb_environment(redis_url: str, prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    env["GSLB_REDIS_URL"] = redis_url
    env["GSLB_PREFIX"] = prefix
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def wait_for(node: LiveDns, path: str, status: int, timeout: float = 30.0) -> float:
    """Poll `path` until it answers `status`; returns the seconds it took."""
    started = time.monotonic()
    last: object = None
    while time.monotonic() - started < timeout:
        assert node.process is not None
        if node.process.poll() is not None:
            raise AssertionError(f"gslb dns exited {node.process.returncode}:\n{node.log.read_text()}")
        try:
            code, _body = node.get(path)
            if code == status:
                return time.monotonic() - started
            last = code
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise AssertionError(
        f"{path} did not answer {status} in {timeout} s (last: {last})\n{node.log.read_text()}"
    )
