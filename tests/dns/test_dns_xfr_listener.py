"""The TCP listener's transfer hook over real loopback sockets, with stand-in answerers: transfer
messages stay contiguous and in order with other answers on the same connection."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

from gslb.dns.listeners import DnsListeners, ListenAddress


class SlowTransfers:
    """Three messages, with ~0.15 s of event-loop turns between the first and the second."""

    def wants(self, packet: bytes) -> bool:
        return packet.startswith(b"XFR")

    def responses(self, packet: bytes, client_ip: str) -> Iterator[bytes]:
        yield b"xfr-1"
        until = time.monotonic() + 0.15
        while time.monotonic() < until:
            yield b""  # a turn for the loop, nothing sent
        yield b"xfr-2"
        yield b"xfr-3"


class Answers:
    """Plain queries answer at once; "LATE" ones later (as a forwarded query does)."""

    def answer(self, packet: bytes, client_ip: str, *, tcp: bool) -> bytes | object | None:
        if packet.startswith(b"LATE"):

            async def later() -> bytes:
                await asyncio.sleep(0.03)
                return b"late-answer"

            return later()
        return b"answer-" + packet


async def exchange(port: int, packets: list[bytes], expect: int) -> list[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"".join(len(packet).to_bytes(2, "big") + packet for packet in packets))
    await writer.drain()
    got = []
    async with asyncio.timeout(5):
        for _ in range(expect):
            length = int.from_bytes(await reader.readexactly(2), "big")
            got.append(await reader.readexactly(length))
    writer.close()
    return got


async def test_transfer_messages_are_contiguous_and_pipelined_answers_follow() -> None:
    listeners = DnsListeners(Answers(), [ListenAddress("127.0.0.1", 0)], transfers=SlowTransfers())  # type: ignore[arg-type]
    await listeners.start()
    try:
        port = listeners.bound[0][1]
        got = await exchange(port, [b"LATE", b"XFR", b"q1"], expect=5)
        # The late answer became ready while the transfer ran: it waits for the transfer's end.
        assert got == [b"xfr-1", b"xfr-2", b"xfr-3", b"late-answer", b"answer-q1"]
        got = await exchange(port, [b"q0", b"XFR", b"q2"], expect=5)
        assert got == [b"answer-q0", b"xfr-1", b"xfr-2", b"xfr-3", b"answer-q2"]
    finally:
        await listeners.close()
