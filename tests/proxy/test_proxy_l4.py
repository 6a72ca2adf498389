"""L4 TCP proxy mode: VIPs from the store relayed to their reals, PROXY v2, failover, reload."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from gslb.policy import parse_document
from gslb.store import KeySpace, PolicyStore, Store
from gslb.store.factory import redis_client
from proxy.l4 import L4Proxy, compile_vips
from proxy.proxy_protocol import SIGNATURE, parse_proxy_v2, proxy_v2_header
from proxy.source import RouteSource
from tests.conftest import free_port


def test_proxy_v2_header_golden() -> None:
    header = proxy_v2_header(("192.0.2.1", 40000), ("198.51.100.2", 443))
    assert header == (
        SIGNATURE
        + bytes([0x21, 0x11, 0, 12])
        + bytes([192, 0, 2, 1, 198, 51, 100, 2])
        + bytes([0x9C, 0x40, 0x01, 0xBB])
    )
    six = proxy_v2_header(("2001:db8::1", 1), ("2001:db8::2", 2))
    assert six[12:16] == bytes([0x21, 0x21, 0, 36]) and len(six) == 16 + 36
    assert parse_proxy_v2(six + b"rest") == (("2001:db8::1", 1), ("2001:db8::2", 2), 52)
    local = proxy_v2_header(("192.0.2.1", 1), ("2001:db8::2", 2))  # mixed families: LOCAL, no addresses
    assert local == SIGNATURE + bytes([0x20, 0, 0, 0])


class Real:
    """A TCP server that answers each line with its name and what the PROXY header said."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self.sources: list[Any] = []

    async def start(self) -> Real:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(16)
        source = None
        if data.startswith(SIGNATURE[:12]):
            data += await reader.readexactly(int.from_bytes(data[14:16], "big"))
            source, _dest, used = parse_proxy_v2(data)
            data = data[used:]
        self.sources.append(source)
        buffer = data
        try:
            while True:
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    writer.write(f"{self.name} {source[0] if source else '-'} {line.decode()}\n".encode())
                chunk = await reader.read(65536)
                if not chunk:
                    break
                buffer += chunk
        finally:
            writer.close()


async def talk(port: int, line: str = "hi") -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(line.encode() + b"\n")
    answer = await asyncio.wait_for(reader.readline(), 3)
    writer.close()
    return answer.decode().strip()


def vip(port: int, reals: list[dict[str, Any]], **extra: Any) -> Any:
    return parse_document(
        "vip", {"tenant": "acme", "name": "v", "address": "127.0.0.1", "port": port, "reals": reals, **extra}
    )


async def one_dead_two(two_weight: int | None = None) -> tuple[Real, int, Real, list[dict[str, Any]]]:
    """Reals "one", a port nobody listens on (refuses), and "two": as servers and as VIP reals."""
    one, two = await Real("one").start(), await Real("two").start()
    dead = free_port()
    reals = [
        {"address": "127.0.0.1", "port": one.port},
        {"address": "127.0.0.1", "port": dead},
        {"address": "127.0.0.1", "port": two.port, **({"weight": two_weight} if two_weight else {})},
    ]
    return one, dead, two, reals


async def test_l4_relays_with_proxy_protocol_failover_and_drain() -> None:
    one, _dead, two, reals = await one_dead_two(two_weight=300)  # the dead one refuses: skipped
    port = free_port()
    proxy = L4Proxy()
    try:
        await proxy.update(compile_vips([vip(port, reals, proxy_protocol=True)], {}))
        answers = [await talk(port, f"n{i}") for i in range(8)]
        names = [answer.split()[0] for answer in answers]
        assert names.count("two") == 6 and names.count("one") == 2, names
        assert all(answer.split()[1] == "127.0.0.1" for answer in answers), "the client's address arrived"
        # A long-lived connection survives a reload that drains its real (weight 0).
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"first\n")
        before = (await reader.readline()).decode().split()[0]
        drained = [
            dict(r, weight=0) if r["port"] == {"one": one.port, "two": two.port}[before] else r for r in reals
        ]
        await proxy.update(compile_vips([vip(port, drained, proxy_protocol=True)], {}))
        writer.write(b"second\n")
        assert (await reader.readline()).decode().split()[0] == before
        writer.close()
        assert {(await talk(port)).split()[0] for _ in range(4)} == {"one", "two"} - {before}
        # Big transfers flow both ways.
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**24)
        payload = b"x" * (4 * 2**20)
        writer.write(payload + b"\n")
        line = await asyncio.wait_for(reader.readline(), 5)
        assert line.endswith(b" " + payload + b"\n")
        writer.close()
    finally:
        await proxy.close()


async def test_l4_ejects_a_real_that_keeps_refusing(caplog: Any) -> None:
    """Three refused connections in a row: the real is left out (no more attempts, so no more
    failovers), never more than half of the reals, and not when it is the last one left."""
    _one, dead, _two, reals = await one_dead_two()
    port = free_port()
    proxy = L4Proxy()
    caplog.set_level("INFO", logger="proxy.l4")
    try:
        await proxy.update(compile_vips([vip(port, reals)], {}))
        answers = [(await talk(port, f"n{i}")).split()[0] for i in range(30)]
        assert set(answers) == {"one", "two"}  # every connection served, by a live real
        tried_dead = [r for r in caplog.records if f":{dead} failed" in r.getMessage()]
        assert len(tried_dead) == 3, [r.getMessage() for r in tried_dead]
        assert any(f"127.0.0.1:{dead} ejected for 10 s" in r.getMessage() for r in caplog.records)
        # A reload that keeps the real keeps its ejection.
        await proxy.update(compile_vips([vip(port, [*reals, {"address": "127.0.0.2", "port": 1}])], {}))
        await proxy.update(compile_vips([vip(port, reals)], {}))
        assert {(await talk(port)).split()[0] for _ in range(6)} == {"one", "two"}
        assert len([r for r in caplog.records if f":{dead} failed" in r.getMessage()]) == 3
    finally:
        await proxy.close()
    # The only real left, refusing: tried every time (nothing else to send to), never ejected.
    caplog.clear()
    proxy = L4Proxy()
    try:
        await proxy.update(compile_vips([vip(port, [{"address": "127.0.0.1", "port": dead}])], {}))
        for _ in range(5):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(reader.read(), 3) == b""  # closed: no real accepted
            writer.close()
        messages = [r.getMessage() for r in caplog.records]
        assert len([m for m in messages if f":{dead} failed" in m]) == 5
        assert not any("ejected" in m for m in messages)
    finally:
        await proxy.close()


async def test_l4_vips_follow_the_store(redis_server: Any) -> None:
    one, two = await Real("one").start(), await Real("two").start()
    port = free_port()
    keys = KeySpace(f"l4{uuid.uuid4().hex[:8]}")
    writer_store = Store(redis_client(redis_server.url), keys=keys)
    node_store = Store(redis_client(redis_server.url), keys=keys)
    policy = PolicyStore(writer_store)
    tenant = parse_document("tenant", {"name": "acme"})
    check = parse_document("check", {"tenant": "acme", "name": "tcp", "type": "tcp", "port": 1})
    await policy.apply([tenant, check, vip(port, [{"address": "127.0.0.1", "port": one.port}])])
    proxy = L4Proxy()
    source = RouteSource(node_store, lambda table: None, on_vips=proxy.update, block_ms=200)
    await source.start()
    try:
        assert (await talk(port)).startswith("one -")  # no PROXY header unless asked for
        revision = await policy.apply([vip(port, [{"address": "127.0.0.1", "port": two.port}])])
        await source.wait_for(revision, 2)
        assert (await talk(port)).startswith("two -")
        revision = await policy.apply([], ["vip:acme/v"])
        await source.wait_for(revision, 2)
        try:
            await talk(port)
            raise AssertionError("the removed VIP still listens")
        except ConnectionRefusedError:
            pass
    finally:
        await source.stop()
        await proxy.close()
        await writer_store.close()
        await node_store.close()
