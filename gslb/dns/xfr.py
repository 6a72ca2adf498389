"""Zone transfers out: AXFR (RFC 5936) and IXFR answered in full (RFC 1995 section 4), over TCP only.

A slow path by design: it runs with dnspython, a message at a time, and the TCP listener yields to
the event loop between messages, so a transfer never stalls the UDP hot path for longer than one
message takes to render. The UDP path never gets here (the responder answers AXFR/IXFR over UDP
with NOTIMP: RFC 5936 section 4.2 leaves AXFR over UDP undefined).

Who may transfer is the zone's policy (`transfer:` on the zone, `gslb.policy.transfer`): a TSIG key
it lists, from a network it lists (if any). Answers, in the order checked:

- A TSIG that does not verify: NOTAUTH, unsigned, TSIG error BADKEY (unknown key or wrong
  algorithm) or BADSIG; a time outside the fudge: NOTAUTH, signed, BADTIME (RFC 8945 5.2).
- QCLASS other than IN: REFUSED. A name that is not the apex of a zone served here: NOTAUTH
  (RFC 5936 section 2.2.1).
- No `transfer:` on the zone, no TSIG, a key the zone does not list, or a client outside its
  networks: REFUSED (signed when the query was).
- IXFR whose SOA serial is the current one or newer: the current SOA alone (RFC 1995 section 2).
  Any other IXFR: the whole zone, AXFR-style (SOA first and last) — allowed by RFC 1995 section 4;
  gslb keeps no history to build differences from.
- AXFR: SOA, every record set (`gslb.engine.transfer`), SOA; messages up to 64 KiB with name
  compression, the question in the first one only, each signed (RFC 8945 section 5.3.1) when the
  query was (rendered by `gslb.dns.xfr_wire`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv6Address, ip_address

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.renderer
import dns.rrset
import dns.tsig

from gslb.dns.message import FLAG_QR, HEADER, OPCODE_MASK, TYPE_AXFR, TYPE_IXFR, MalformedQuery
from gslb.dns.query import read_question
from gslb.dns.tsig_keys import TsigKeys
from gslb.dns.xfr_wire import TsigSigner, ZoneRecords, build_zone_records, render_transfer
from gslb.dns.zone_policy import IndexZonePolicy, PolicySetZonePolicy, ZonePolicy
from gslb.engine.snapshot import Snapshot, ZoneSnapshot

__all__ = ["IndexZonePolicy", "PolicySetZonePolicy", "TransferServer", "ZonePolicy"]

log = logging.getLogger(__name__)

_CACHE_SIZE = 64
_AUTH_ERRORS = (dns.rcode.BADKEY, dns.rcode.BADSIG)


def _serial_newer_or_equal(theirs: int, ours: int) -> bool:
    """RFC 1982 serial arithmetic: is `theirs` >= `ours`?"""
    return theirs == ours or 0 < ((theirs - ours) % 2**32) < 2**31


class TransferServer:
    """Answers AXFR/IXFR queries from `source()` (the current snapshot) and `policy` (zone specs
    and record sets of the same policy)."""

    def __init__(
        self,
        source: Callable[[], Snapshot],
        policy: ZonePolicy,
        keys: TsigKeys,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        self._policy = policy
        self._keys = keys
        self._clock = clock
        # Record sets per compiled zone, built once per zone version: several secondaries usually
        # transfer the same version right after a NOTIFY.
        self._cache: dict[str, tuple[ZoneSnapshot, ZoneRecords]] = {}
        # Transfer requests by (zone, result), for /metrics; the zone is "" when not one of ours.
        self.counts: dict[tuple[str, str], int] = {}

    def wants(self, packet: bytes) -> bool:
        """True for a well-formed AXFR or IXFR query; everything else is the responder's."""
        if len(packet) < 12:
            return False
        _qid, flags, qdcount, _an, _ns, _ar = HEADER.unpack_from(packet)
        if flags & (FLAG_QR | OPCODE_MASK) or qdcount != 1:
            return False
        try:
            qtype = read_question(packet)[2]
        except MalformedQuery:
            return False
        return qtype in (TYPE_AXFR, TYPE_IXFR)

    def responses(self, packet: bytes, client_ip: str) -> Iterator[bytes]:
        """The response messages, rendered one at a time as the caller asks for them; an empty one
        is not sent: it only gives the event loop a turn while a large zone is being prepared."""
        try:
            query = dns.message.from_wire(packet, keyring=self._keyring)
        except (dns.message.UnknownTSIGKey, dns.tsig.BadKey, dns.tsig.BadAlgorithm):
            self._count("", "badkey")
            yield from self._tsig_error(packet, dns.rcode.BADKEY, client_ip)
            return
        except dns.tsig.BadSignature:
            self._count("", "badsig")
            yield from self._tsig_error(packet, dns.rcode.BADSIG, client_ip)
            return
        except dns.tsig.BadTime:
            self._count("", "badtime")
            yield from self._tsig_error(packet, dns.rcode.BADTIME, client_ip)
            return
        except dns.exception.DNSException:
            self._count("", "formerr")
            yield from self._formerr(packet)
            return
        yield from self._answer(query, packet, client_ip)

    def _count(self, zone: str, result: str) -> None:
        key = (zone, result)
        self.counts[key] = self.counts.get(key, 0) + 1

    # --- checks ----------------------------------------------------------------------------------

    def _keyring(self, _message: dns.message.Message, name: dns.name.Name) -> dns.tsig.Key | None:
        return self._keys.get(name)

    def _answer(self, query: dns.message.Message, packet: bytes, client_ip: str) -> Iterator[bytes]:
        question = query.question[0]
        qtype = dns.rdatatype.to_text(question.rdtype)
        zone_name = question.name.to_text().lower()
        keyname = query.keyname.to_text() if query.had_tsig and query.keyname is not None else None
        if question.rdclass != dns.rdataclass.IN:
            self._count("", "refused")
            yield self._error(query, dns.rcode.REFUSED)
            return
        zone = self._source().zones.get(zone_name)
        if zone is None:
            log.info("%s of %s from %s: not a zone served here (NOTAUTH)", qtype, zone_name, client_ip)
            self._count("", "notauth")  # no zone label: names asked for are not ours to bound
            yield self._error(query, dns.rcode.NOTAUTH)
            return
        refusal = self._refusal(zone_name, keyname, client_ip)
        if refusal is not None:
            log.warning("%s of %s from %s refused: %s", qtype, zone_name, client_ip, refusal)
            self._count(zone_name, "refused")
            yield self._error(query, dns.rcode.REFUSED)
            return
        soa = self._soa_rrset(zone)
        if question.rdtype == dns.rdatatype.IXFR:
            theirs = _client_serial(query, question.name)
            if theirs is not None and _serial_newer_or_equal(theirs, zone.serial):
                log.info("IXFR of %s from %s: serial %d is current", zone_name, client_ip, zone.serial)
                self._count(zone_name, "up_to_date")
                yield self._single(query, soa)
                return
        records = None
        for records in self._records(zone):
            if records is None:
                yield b""  # nothing to send yet: a turn for the event loop while a big zone is built
        assert records is not None
        log.info(
            "%s of %s (serial %d, %d record sets) to %s, key %s",
            qtype,
            zone_name,
            zone.serial,
            records.rrsets,
            client_ip,
            keyname,
        )
        self._count(zone_name, "transferred")
        yield from self._messages(query, packet, records)

    def _refusal(self, zone_name: str, keyname: str | None, client_ip: str) -> str | None:
        """Why the zone's policy does not let this client transfer it, or None when it does."""
        spec = self._policy.zone(zone_name)
        transfer = spec.transfer if spec is not None else None
        if transfer is None:
            return "the zone allows no transfers (no 'transfer:' in its policy)"
        if transfer.networks:
            try:
                address = ip_address(client_ip.partition("%")[0])
            except ValueError:
                return f"client address {client_ip!r} is not an IP address"
            if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            if not any(address in network for network in transfer.networks):
                return "client is outside the zone's transfer networks"
        if keyname is None:
            return "the query is not signed with TSIG"
        if keyname.lower() not in transfer.keys:
            return f"key {keyname} is not one of the zone's transfer keys"
        return None

    # --- content ---------------------------------------------------------------------------------

    def _records(self, zone: ZoneSnapshot) -> Iterator[ZoneRecords | None]:
        """The zone's records, from the cache or built a slice at a time (None between slices)."""
        cached = self._cache.get(zone.name)
        if cached is not None and cached[0] is zone:
            yield cached[1]
            return
        # A copy taken now, with the snapshot: the feed updates the policy in place, and the build
        # below spans turns of the event loop in which the next change may arrive.
        docs = dict(self._policy.records(zone.name))
        for records in build_zone_records(zone, docs):
            if records is None:
                yield None
                continue
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[zone.name] = (zone, records)
            yield records

    @staticmethod
    def _soa_rrset(zone: ZoneSnapshot) -> dns.rrset.RRset:
        rdata = zone.soa.rdatas[0]
        rrset = dns.rrset.RRset(dns.name.from_text(zone.name), dns.rdataclass.IN, dns.rdatatype.SOA)
        soa = dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.SOA, rdata, 0, len(rdata))
        rrset.add(soa, zone.soa.ttl)
        return rrset

    def _messages(self, query: dns.message.Message, packet: bytes, zone: ZoneRecords) -> Iterator[bytes]:
        flags = dns.flags.QR | dns.flags.AA | (query.flags & dns.flags.RD)
        signer = None
        if query.had_tsig and query.keyring is not None and query.keyname is not None:
            assert query.mac is not None
            signer = TsigSigner(query.keyring, query.keyname, query.id, query.mac, clock=self._clock)
        question = read_question(packet)[0]
        yield from render_transfer(query.id, flags, question, zone, signer)

    def _response(self, query: dns.message.Message, rcode: dns.rcode.Rcode) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA if rcode == dns.rcode.NOERROR else 0
        response.set_rcode(rcode)
        return response

    def _error(self, query: dns.message.Message, rcode: dns.rcode.Rcode) -> bytes:
        return self._response(query, rcode).to_wire()

    def _single(self, query: dns.message.Message, soa: dns.rrset.RRset) -> bytes:
        response = self._response(query, dns.rcode.NOERROR)
        response.answer.append(soa)
        return response.to_wire()

    def _formerr(self, packet: bytes) -> Iterator[bytes]:
        qid, flags = HEADER.unpack_from(packet)[:2]
        yield HEADER.pack(qid, FLAG_QR | (flags & OPCODE_MASK) | dns.rcode.FORMERR, 0, 0, 0, 0)

    def _tsig_error(self, packet: bytes, error: dns.rcode.Rcode, client_ip: str) -> Iterator[bytes]:
        """NOTAUTH with the TSIG error: unsigned for BADKEY/BADSIG (we cannot or must not sign),
        signed with the server's time in Other Data for BADTIME (RFC 8945 section 5.2.3)."""
        try:
            query = dns.message.from_wire(packet, keyring=lambda _message, _name: False)
        except dns.exception.DNSException:
            yield from self._formerr(packet)
            return
        assert query.tsig is not None
        tsig = query.tsig[0]
        log.warning(
            "transfer query from %s with key %s refused: TSIG %s",
            client_ip,
            query.tsig.name,
            dns.rcode.to_text(error),
        )
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.NOTAUTH)
        now = int(self._clock())
        if error in _AUTH_ERRORS:
            # A TSIG record with an empty MAC: RFC 8945 section 5.3.2 forbids signing these.
            response.tsig = dns.renderer._make_tsig(  # type: ignore[attr-defined]
                query.tsig.name, tsig.algorithm, now, tsig.fudge, b"", tsig.original_id, error, b""
            )
            yield response.to_wire()
            return
        key = self._keys.get(query.tsig.name)
        assert key is not None  # BADTIME is raised only after the signature verified
        response.use_tsig(
            key, key.name, tsig.fudge, tsig.original_id, error, now.to_bytes(6, "big"), key.algorithm
        )
        response.request_mac = tsig.mac
        yield response.to_wire()


def _client_serial(query: dns.message.Message, zone: dns.name.Name) -> int | None:
    """The serial an IXFR query says the client has (its authority SOA), if it gives one."""
    for rrset in query.authority:
        if rrset.rdtype == dns.rdatatype.SOA and rrset.name == zone and len(rrset):
            return int(rrset[0].serial)
    return None
