"""DNS check: ask the target server a question; expect an rcode and, optionally, one answer's text."""

from __future__ import annotations

import asyncio
import struct

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from gslb.policy.health import DnsCheck
from health.probes.common import ProbeFailed, resolve
from health.probes.udp import _Reply
from health.targets import Target

MAX_TCP_ANSWER = 65535


async def _ask_udp(address: str, port: int, wire: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[bytes] = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Reply(future), remote_addr=(address, port))
    try:
        transport.sendto(wire)
        return await future
    finally:
        transport.close()


async def _ask_tcp(address: str, port: int, wire: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(address, port)
    try:
        writer.write(struct.pack("!H", len(wire)) + wire)
        (length,) = struct.unpack("!H", await reader.readexactly(2))
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise ProbeFailed("the server closed the TCP connection before answering") from None
    finally:
        writer.transport.abort()


async def probe_dns(target: Target) -> None:
    check = target.check
    if not isinstance(check, DnsCheck):
        raise ProbeFailed(f"check type {check.type!r} is not a DNS check")
    _family, address = await resolve(target.host, target.port, udp=check.transport == "udp")
    query = dns.message.make_query(check.query_name, check.query_type)
    ask = _ask_udp if check.transport == "udp" else _ask_tcp
    raw = await ask(address, target.port, query.to_wire())
    try:
        answer = dns.message.from_wire(raw)
    except dns.exception.DNSException as exc:
        raise ProbeFailed(f"unreadable DNS answer: {exc}") from None
    if answer.id != query.id:
        raise ProbeFailed("answer ID does not match the query")
    rcode = dns.rcode.to_text(answer.rcode())
    if rcode != check.expect_rcode:
        raise ProbeFailed(f"rcode {rcode}, expected {check.expect_rcode}")
    expect = check.expect_answer
    if expect is not None:
        texts = [rdata.to_text() for rrset in answer.answer for rdata in rrset]
        if expect not in texts:
            raise ProbeFailed(f"no answer equals {expect!r} (got {', '.join(texts) or 'none'})")
