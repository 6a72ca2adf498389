"""`gslb proxy` as users run it: policy in the store, status and metrics, workers, clean stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from gslb.policy import parse_document
from gslb.store import KeySpace, PolicyStore, Store
from gslb.store.factory import redis_client
from tests.conftest import free_port

POLICY = """\
tenants:
  acme:
    upstreams:
      web: {{members: [{{address: 127.0.0.1, port: {port}}}]}}
    routes:
      site: {{hosts: [www.example.com], upstream: web}}
"""


async def run(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gslb",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_ok(
    session: aiohttp.ClientSession, url: str, host: str | None = None
) -> aiohttp.ClientResponse:
    for _ in range(200):
        try:
            response = await session.get(url, headers={"Host": host} if host else None)
            if response.status == 200:
                await response.read()
                return response
            response.release()
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered 200")


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(process.communicate(), 15)
    return process.returncode or 0, err.decode()


async def test_proxy_command_with_embedded_store(tmp_path: Path, backends: Any) -> None:
    backend = await backends("b")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(port=backend.port))
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("GSLB_REDIS_URL", None)
    data = str(tmp_path / "data")
    imported = await run("import", str(policy), "--data-dir", data, env=env)
    assert await imported.wait() == 0
    port, http = free_port(), free_port()
    access = tmp_path / "access.jsonl"
    process = await run(
        "proxy", "--data-dir", data, "--listen", f"127.0.0.1:{port}", "--http", f"127.0.0.1:{http}",
        "--access-log", str(access), env=env,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            response = await wait_ok(session, f"http://127.0.0.1:{port}/hello", "www.example.com")
            assert response.status == 200 and backend.requests[-1]["path"] == "/hello"
            async with session.get(f"http://127.0.0.1:{http}/v1/status") as status:
                body = await status.json()
            assert body["routes"] == ["acme/site"] and body["revision"] == 1
            assert body["pools"]["acme/web"][0]["member"] == f"127.0.0.1:{backend.port}"
            async with session.get(f"http://127.0.0.1:{http}/metrics") as metrics:
                text = await metrics.text()
            assert (
                f'gslb_proxy_requests_total{{route="acme/site",status="2xx",upstream="acme/web/127.0.0.1:{backend.port}"}} 1.0'  # noqa: E501
                in text
            )
            assert 'gslb_proxy_request_seconds_count{route="acme/site"} 1.0' in text
            async with session.get(
                f"http://127.0.0.1:{port}/nothing", headers={"Host": "nope.test"}
            ) as missing:
                assert missing.status == 404
    finally:
        code, err = await stop(process)
    assert code == 0, err
    lines = [json.loads(line) for line in access.read_text().splitlines()]
    served = [line for line in lines if line["status"] == 200]
    assert served[-1]["route"] == "acme/site" and served[-1]["path"] == "/hello"
    assert served[-1]["upstream"] == f"127.0.0.1:{backend.port}" and served[-1]["host"] == "www.example.com"
    assert served[-1]["method"] == "GET" and served[-1]["ms"] >= 0 and served[-1]["client"] == "127.0.0.1"
    assert lines[-1]["status"] == 404 and lines[-1]["path"] == "/nothing" and lines[-1]["host"] == "nope.test"


async def test_proxy_workers_share_the_port_and_follow_redis(redis_server: Any, backends: Any) -> None:
    one, two = await backends("one"), await backends("two")
    prefix = f"cli{uuid.uuid4().hex[:8]}"
    writer = Store(redis_client(redis_server.url), keys=KeySpace(prefix))
    policy = PolicyStore(writer)

    def docs(port: int) -> list[Any]:
        return [
            parse_document("tenant", {"name": "acme"}),
            parse_document(
                "upstream",
                {"tenant": "acme", "name": "web", "members": [{"address": "127.0.0.1", "port": port}]},
            ),
            parse_document(
                "route", {"tenant": "acme", "name": "site", "hosts": ["h.test"], "upstream": "web"}
            ),
        ]

    await policy.apply(docs(one.port))
    port = free_port()
    process = await run(
        "proxy",
        "--redis-url",
        redis_server.url,
        "--prefix",
        prefix,
        "--listen",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
    )
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            await wait_ok(session, f"http://127.0.0.1:{port}/", "h.test")
            await policy.apply(docs(two.port)[1:2])
            for _ in range(100):  # every worker follows the store: soon only `two` answers
                names = []
                for _ in range(10):
                    async with session.get(
                        f"http://127.0.0.1:{port}/", headers={"Host": "h.test"}
                    ) as response:
                        names.append((await response.json(content_type=None))["backend"])
                if set(names) == {"two"}:
                    break
                await asyncio.sleep(0.05)
            assert set(names) == {"two"}
    finally:
        code, err = await stop(process)
        await writer.close()
    assert code == 0, err
