"""NOTIFY (RFC 1996): tell a zone's secondaries that its SOA serial moved, so they transfer it now.

`Notifier.snapshot_changed` is a snapshot-feed listener: it compares every zone's serial with the
one it last saw and, for zones whose policy lists `transfer.also_notify`, starts one small task per
secondary. The task sends the NOTIFY over UDP, signed with the zone's notify key, and retries on
silence with a doubling timeout (2, 4, 8, 16, 32 s by default) before giving up. Nothing here runs
on the DNS hot path, and everything is bounded:

- a newer serial for the same zone and secondary replaces the pending NOTIFY (only the latest
  matters to a secondary);
- at most `max_pending` NOTIFY tasks exist; beyond that new ones are dropped with a warning (the
  secondary still catches up at its SOA refresh interval);
- at most `max_in_flight` are on the wire at once.

On start every zone counts as changed, as BIND does on zone load: a secondary that missed a NOTIFY
while this node was down hears about the current serial. Only one process per node sends them (the
first worker).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig

from gslb.dns.tsig_keys import TsigKeys
from gslb.dns.zone_policy import ZonePolicy
from gslb.engine.snapshot import Snapshot, ZoneSnapshot
from gslb.policy.transfer import notify_address

__all__ = ["Notifier", "NotifyStats"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0
DEFAULT_ATTEMPTS = 5
DEFAULT_MAX_PENDING = 4096
DEFAULT_MAX_IN_FLIGHT = 64


@dataclass(slots=True)
class NotifyStats:
    sent: int = 0  # NOTIFY messages sent, retries included
    acknowledged: int = 0  # NOTIFYs a secondary answered with NOERROR
    rejected: int = 0  # answered with an error (REFUSED, NOTAUTH, ...): not retried
    gave_up: int = 0  # never answered after every attempt
    dropped: int = 0  # not sent: too many pending, or the node lacks the key


class _Exchange(asyncio.DatagramProtocol):
    """One NOTIFY on its own connected UDP socket: resolves with the first valid answer."""

    def __init__(self, request: dns.message.Message, key: dns.tsig.Key | None) -> None:
        self._request = request
        self._key = key
        self.answer: asyncio.Future[dns.message.Message] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.answer.done():
            return
        try:
            response = dns.message.from_wire(
                data, keyring=self._key, request_mac=self._request.mac if self._key is not None else b""
            )
        except dns.exception.DNSException as exc:
            log.debug("ignoring a bad NOTIFY answer from %s: %s", addr[0], exc)
            return  # forged or broken: keep waiting for the real one
        if response.id != self._request.id or response.opcode() != dns.opcode.NOTIFY:
            return
        if not response.flags & dns.flags.QR:
            return
        self.answer.set_result(response)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable: wait out the timeout
        log.debug("NOTIFY socket error: %s", exc)


class Notifier:
    def __init__(
        self,
        policy: ZonePolicy,
        keys: TsigKeys,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        self._policy = policy
        self._keys = keys
        self._timeout = timeout
        self._attempts = attempts
        self._max_pending = max_pending
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._serials: dict[str, int] = {}
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self.stats = NotifyStats()

    def snapshot_changed(self, snapshot: Snapshot) -> None:
        """Schedule a NOTIFY to each secondary of every zone whose serial changed."""
        serials = {}
        for name, zone in snapshot.zones.items():
            serials[name] = zone.serial
            if self._serials.get(name) == zone.serial:
                continue
            spec = self._policy.zone(name)
            transfer = spec.transfer if spec is not None else None
            if transfer is None:
                continue
            for target in transfer.also_notify:
                self._schedule(zone, target, transfer.signing_key)
        self._serials = serials

    def _schedule(self, zone: ZoneSnapshot, target: str, keyname: str) -> None:
        slot = (zone.name, target)
        previous = self._tasks.pop(slot, None)
        if previous is not None:
            previous.cancel()  # superseded: the secondary only needs the newest serial
        if len(self._tasks) >= self._max_pending:
            self.stats.dropped += 1
            log.warning("NOTIFY of %s to %s dropped: %d already pending", zone.name, target, len(self._tasks))
            return
        task = asyncio.get_running_loop().create_task(self._notify(zone, target, keyname))
        self._tasks[slot] = task
        task.add_done_callback(lambda done: self._forget(slot, done))

    def _forget(self, slot: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._tasks.get(slot) is task:
            del self._tasks[slot]

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def _notify(self, zone: ZoneSnapshot, target: str, keyname: str) -> None:
        key = self._keys.get(keyname)
        if key is None:
            self.stats.dropped += 1
            log.error(
                "NOTIFY of %s to %s not sent: TSIG key %s is not in this node's key file (--tsig-keys)",
                zone.name,
                target,
                keyname,
            )
            return
        host, port = notify_address(target)
        async with self._in_flight:
            for attempt in range(self._attempts):
                request = _notify_message(zone, key)
                try:
                    response = await self._exchange(request, key, host, port, self._timeout * 2**attempt)
                except TimeoutError:
                    continue
                except OSError as exc:
                    log.warning("NOTIFY of %s to %s: %s", zone.name, target, exc.strerror or exc)
                    await asyncio.sleep(self._timeout * 2**attempt)
                    continue
                if response.rcode() == dns.rcode.NOERROR:
                    self.stats.acknowledged += 1
                    log.info("NOTIFY of %s serial %d acknowledged by %s", zone.name, zone.serial, target)
                else:
                    self.stats.rejected += 1
                    log.warning(
                        "NOTIFY of %s serial %d rejected by %s: %s",
                        zone.name,
                        zone.serial,
                        target,
                        dns.rcode.to_text(response.rcode()),
                    )
                return
        self.stats.gave_up += 1
        log.warning(
            "NOTIFY of %s serial %d to %s: no answer after %d attempts; the secondary will catch up "
            "at its refresh interval",
            zone.name,
            zone.serial,
            target,
            self._attempts,
        )

    async def _exchange(
        self, request: dns.message.Message, key: dns.tsig.Key, host: str, port: int, timeout: float
    ) -> dns.message.Message:
        loop = asyncio.get_running_loop()
        wire = request.to_wire()  # signs it, setting request.mac for checking the answer
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Exchange(request, key), remote_addr=(host, port)
        )
        try:
            transport.sendto(wire)
            self.stats.sent += 1
            async with asyncio.timeout(timeout):
                return await protocol.answer
        finally:
            transport.close()


def _notify_message(zone: ZoneSnapshot, key: dns.tsig.Key) -> dns.message.Message:
    """NOTIFY for `zone`: opcode NOTIFY, AA, question (zone, SOA), the new SOA as a hint (RFC 1996 3.7)."""
    message = dns.message.make_query(zone.name, dns.rdatatype.SOA)
    message.set_opcode(dns.opcode.NOTIFY)
    message.flags = (message.flags & ~dns.flags.RD) | dns.flags.AA
    rdata = zone.soa.rdatas[0]
    soa = dns.rrset.RRset(message.question[0].name, dns.rdataclass.IN, dns.rdatatype.SOA)
    soa.add(dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.SOA, rdata, 0, len(rdata)), zone.soa.ttl)
    message.answer.append(soa)
    message.use_tsig(key, key.name, algorithm=key.algorithm)
    return message
