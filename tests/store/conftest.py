"""Store fixtures: real redis-server processes on free loopback ports, and one suite for both backends.

Self-contained on purpose (no imports from other conftest files), so the Redis fixtures can move
to tests/conftest.py unchanged. `redis_server` here shadows any same-named fixture higher up.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from gslb.store import KeySpace, Store, open_embedded
from gslb.store.factory import redis_client

REDIS_SERVER = shutil.which("redis-server")
NOT_INSTALLED = "redis-server is not installed (Debian package redis-server); Redis tests skipped"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """One redis-server on 127.0.0.1; restartable on the same port (optionally with its data)."""

    def __init__(self, workdir: Path, *, persistent: bool = False) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        )
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *persistence,
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode} on port {self.port}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer PING on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, like a crash."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None


def _started(workdir: Path, *, persistent: bool = False) -> RedisProcess:
    if REDIS_SERVER is None:
        pytest.skip(NOT_INSTALLED)
    server = RedisProcess(workdir, persistent=persistent)
    server.start()
    return server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """One Redis for the session; tests isolate themselves with a random key prefix."""
    server = _started(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A Redis of the test's own, free to kill and restart (no persistence: a restart empties it)."""
    server = _started(tmp_path / "redis-private")
    yield server
    server.stop()


@pytest.fixture
def persistent_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A Redis of the test's own with an fsync-always AOF: a restart keeps every acknowledged write."""
    server = _started(tmp_path / "redis-aof", persistent=True)
    yield server
    server.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (free a moment ago)."""
    return free_port()


class Backend:
    """Makes stores on one backend that all see the same data.

    On Redis every store() is a separate client (as separate nodes would be). The embedded store
    belongs to one process, so every store() returns that one object: in-process components share it.
    """

    def __init__(self, name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.name = name
        self._tmp_path = tmp_path
        self._request = request
        self.prefix = f"t{uuid.uuid4().hex[:12]}"
        self._opened: list[Store] = []

    async def store(self, **kwargs: Any) -> Store:
        if self.name == "redis":
            server: RedisProcess = self._request.getfixturevalue("redis_server")
            store = Store(redis_client(server.url), keys=KeySpace(self.prefix), **kwargs)
        elif self._opened:
            return self._opened[0]
        else:
            store = await open_embedded(self._tmp_path / "data", prefix=self.prefix, **kwargs)
        self._opened.append(store)
        return store

    async def close(self) -> None:
        for store in reversed(self._opened):
            await store.close()


@pytest.fixture(params=["redis", "embedded"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    made = Backend(request.param, tmp_path, request)
    yield made
    await made.close()


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.store()
