"""The local DNS self-check: does our own DNS server answer a known query correctly, right now?

One UDP query to the local server (the address the anycast prefix leads to) with a short timeout.
A server that is gone is noticed at once (ICMP port unreachable on the connected socket), a hung
one by the timeout; an answer counts only with the expected rcode and, when asked, the expected
address among the answers.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype


@dataclass(frozen=True, slots=True)
class DnsCheck:
    address: str
    port: int
    name: str
    rdtype: str = "A"
    timeout: float = 0.2
    expect: IPv4Address | IPv6Address | None = None


async def run_dns_check(check: DnsCheck) -> tuple[bool, str]:
    """(ok, reason) of one query; never raises for what the server did."""
    query = dns.message.make_query(check.name, check.rdtype)
    try:
        async with asyncio.timeout(check.timeout):
            wire = await _exchange(query.to_wire(), check.address, check.port)
        response = dns.message.from_wire(wire)
    except TimeoutError:
        return False, f"no answer from {check.address}:{check.port} within {check.timeout:g}s"
    except (OSError, dns.exception.DNSException) as exc:
        return False, f"query to {check.address}:{check.port} failed: {exc or type(exc).__name__}"
    if not query.is_response(response):
        return False, f"{check.address}:{check.port} sent a reply that does not match the query"
    rcode = response.rcode()
    if rcode != dns.rcode.NOERROR:
        return False, f"{check.name} {check.rdtype} answered {dns.rcode.to_text(rcode)}"
    wanted = dns.rdatatype.from_text(check.rdtype)
    values = {rdata.to_text() for rrset in response.answer if rrset.rdtype == wanted for rdata in rrset}
    if not values:
        return False, f"{check.name} {check.rdtype} answered no {check.rdtype} record"
    if check.expect is not None and str(check.expect) not in values:
        return False, f"{check.name} {check.rdtype} answered {sorted(values)}, not {check.expect}"
    return True, f"{check.name} {check.rdtype} answered {sorted(values)}"


class _OneReply(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def _exchange(wire: bytes, address: str, port: int) -> bytes:
    # A connected socket (remote_addr) hears ICMP port unreachable as ConnectionRefusedError: a
    # stopped server is detected in microseconds, not after the timeout.
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    transport, protocol = await loop.create_datagram_endpoint(
        _OneReply, remote_addr=(address, port), family=family
    )
    try:
        transport.sendto(wire)
        return await protocol.reply
    finally:
        transport.close()
