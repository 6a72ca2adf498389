"""One query to one upstream resolver: UDP from a fresh random port, TCP when truncated.

Poisoning resistance (RFC 5452): every query gets an unpredictable ID and its own socket, whose
ephemeral port the kernel picks at random; the socket is connected to the upstream, so datagrams
from any other address never reach us; an answer must carry our ID and echo our question (name
compared case-insensitively, type and class) or it is ignored and we keep waiting until the
timeout. Smoothed round-trip times pick the fastest healthy upstream.
"""

from __future__ import annotations

import asyncio
import secrets
import struct
import time
from dataclasses import dataclass

from gslb.dns.message import FLAG_TC, HEADER_LEN, MalformedQuery
from gslb.dns.query import read_question

__all__ = ["Upstream", "UpstreamError", "exchange"]

MAX_UDP_RESPONSE = 65535
SRTT_WEIGHT = 0.3  # weight of a new sample in the smoothed RTT
FAILED_RTT = 2.0  # what a timeout counts as, so a dead upstream sinks to the back of the order


class UpstreamError(Exception):
    """No usable answer from an upstream (timeout, refused connection, mismatched answers only)."""


@dataclass(slots=True)
class Upstream:
    host: str
    port: int = 53
    srtt: float = 0.0  # seconds; 0 = not measured yet (tried first, once)
    failures: int = 0
    queries: int = 0

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def observe(self, seconds: float) -> None:
        self.srtt = seconds if self.srtt == 0.0 else (1 - SRTT_WEIGHT) * self.srtt + SRTT_WEIGHT * seconds

    def failed(self) -> None:
        self.failures += 1
        self.observe(FAILED_RTT)


def new_query_id() -> int:
    return secrets.randbelow(0x10000)


def _matches(response: bytes, qid: int, question: bytes) -> bool:
    """Our ID, a response, and the question we asked (name case-insensitive)."""
    if len(response) < HEADER_LEN or (response[0] << 8 | response[1]) != qid or not response[2] & 0x80:
        return False
    try:
        echoed = read_question(response)[0]
    except MalformedQuery:
        return False
    return echoed.lower() == question.lower()


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, qid: int, question: bytes) -> None:
        self.qid = qid
        self.question = question
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.mismatched = 0

    def datagram_received(self, data: bytes, addr: object) -> None:
        if self.answer.done():
            return
        if _matches(data, self.qid, self.question):
            self.answer.set_result(data)
        else:
            self.mismatched += 1  # a spoof, or a late answer to someone else: ignore it

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable: the upstream is down
        if not self.answer.done():
            self.answer.set_exception(UpstreamError(str(exc)))


async def _udp(upstream: Upstream, query: bytes, qid: int, question: bytes, timeout: float) -> bytes:
    loop = asyncio.get_running_loop()
    transport, receiver = await loop.create_datagram_endpoint(
        lambda: _Receiver(qid, question), remote_addr=(upstream.host, upstream.port)
    )
    try:
        transport.sendto(query)
        return await asyncio.wait_for(receiver.answer, timeout)
    finally:
        transport.close()


async def _tcp(upstream: Upstream, query: bytes, qid: int, question: bytes, timeout: float) -> bytes:
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(upstream.host, upstream.port)
        try:
            writer.write(struct.pack("!H", len(query)) + query)
            await writer.drain()
            while True:
                length = struct.unpack("!H", await reader.readexactly(2))[0]
                response = await reader.readexactly(length)
                if _matches(response, qid, question):
                    return response
        finally:
            writer.close()


async def exchange(upstream: Upstream, query: bytes, *, timeout: float, tcp: bool = False) -> bytes:
    """Send `query` (its ID is replaced by a fresh random one) and return the matching response.

    Over UDP first unless `tcp`; a truncated UDP answer is asked again over TCP (RFC 7766).
    Raises UpstreamError; updates the upstream's smoothed RTT and failure count.
    """
    qid = new_query_id()
    query = struct.pack("!H", qid) + query[2:]
    question = read_question(query)[0]
    upstream.queries += 1
    started = time.monotonic()
    try:
        if not tcp:
            response = await _udp(upstream, query, qid, question, timeout)
            if not (response[2] << 8 | response[3]) & FLAG_TC:
                upstream.observe(time.monotonic() - started)
                return response
        response = await _tcp(upstream, query, qid, question, timeout)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, UpstreamError) as exc:
        upstream.failed()
        raise UpstreamError(f"{upstream}: {type(exc).__name__} {exc}".strip()) from None
    upstream.observe(time.monotonic() - started)
    return response
