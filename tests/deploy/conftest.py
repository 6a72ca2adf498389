"""Fixtures of the deploy tests: one real `gslb dns` with the DNS Deployment's command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from deploy_live import LiveDns, dns_container, gslb_environment, loopback_arguments

from gslb.demo import DEMO_POLICY_YAML
from tests.conftest import free_port


@pytest.fixture(scope="session")
def live_dns(redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDns]:
    tmp = tmp_path_factory.mktemp("live-dns")
    env = gslb_environment(redis_server.url, prefix=f"deploy{os.getpid()}")
    policy = tmp / "demo.yaml"
    policy.write_text(DEMO_POLICY_YAML)
    subprocess.run(
        [sys.executable, "-m", "gslb", "-q", "import", str(policy)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    container = dns_container()
    dns_port, http_port, upstream_port = free_port(), free_port(), free_port()
    node = LiveDns(
        container=container,
        argv=[
            *loopback_arguments(
                container["args"], dns_port=dns_port, http_port=http_port, upstream_port=upstream_port
            ),
            "--query-log",
            str(tmp / "query.log"),
        ],
        http=("127.0.0.1", http_port),
        dns=("127.0.0.1", dns_port),
        query_log=tmp / "query.log",
        log=tmp / "gslb.log",
    )
    with node.log.open("wb") as log:
        node.process = subprocess.Popen(
            [sys.executable, "-m", "gslb", *node.argv], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield node
    finally:
        node.process.send_signal(signal.SIGTERM)
        try:
            node.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()
