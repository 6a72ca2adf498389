"""Zone transfer messages rendered by hand from the compiled zone's pre-encoded rdata, signed with
dnspython's TSIG code.

Why not dnspython messages throughout: building dnspython record objects for a 20,000-record zone
held the event loop for 0.85 s and rendering took ~45 ms per 64 KiB message (tests/bench/run_xfr.sh);
by hand it is a few milliseconds per message, so the UDP hot path next to a transfer barely waits.

Compression: in every message the zone apex is written once, in full, with the first record's
owner; every later owner is its labels below the apex plus a pointer to it (RFC 1035 4.1.4). Names
inside rdata stay uncompressed, which every reader accepts and some types require (RFC 3597).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig

from gslb.engine.snapshot import ZoneSnapshot
from gslb.engine.transfer import iter_transfer_rrsets
from gslb.engine.wire import encode_name

__all__ = [
    "MAX_MESSAGE",
    "TsigSigner",
    "ZoneRecords",
    "build_zone_records",
    "render_transfer",
    "zone_records",
]

MAX_MESSAGE = 65535
# Room kept free in every signed message for its TSIG record: owner and algorithm names (at most
# 255 octets each), fixed fields, and the longest MAC (hmac-sha512, 64 octets).
TSIG_RESERVE = 640
_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHI")
_TSIG_FIXED = struct.Struct("!HHIH")
_MAX_POINTER = 0x3FFF
# Record sets built between two turns of the event loop: under 10 ms of work.
BUILD_STEP = 500


@dataclass(frozen=True, slots=True)
class ZoneRecords:
    """One zone version ready to render. Record i is owned by `owners[i]` (its labels below the
    apex, or None for the apex itself) and `tails[i]` is its type, class, TTL, rdlength and rdata.

    Two flat lists rather than a tuple per record: a large zone would otherwise add a tracked
    object per record, and the garbage collector walking 100,000 of them held the loop for 0.4 s.
    """

    name: str
    serial: int
    apex: bytes
    soa: bytes
    owners: list[bytes | None]
    tails: list[bytes]
    rrsets: int


def build_zone_records(
    zone: ZoneSnapshot, docs: Mapping[str, Any], *, step: int = BUILD_STEP
) -> Iterator[ZoneRecords | None]:
    """Yields None after every `step` record sets (a turn for the event loop), then the result."""
    apex = encode_name(zone.name)
    suffix = len(zone.name) + 1
    owners: list[bytes | None] = []
    tails: list[bytes] = []
    rrsets = 0
    for item in iter_transfer_rrsets(zone, docs):
        prefix = None
        if item.owner != zone.name:
            labels = item.owner[:-suffix].encode("ascii").split(b".")
            prefix = b"".join([bytes((len(label),)) + label for label in labels])
        head = _RR_FIXED.pack(item.rdtype, dns.rdataclass.IN, item.ttl)
        for rdata in item.rdatas:
            owners.append(prefix)
            tails.append(head + len(rdata).to_bytes(2, "big") + rdata)
        rrsets += 1
        if rrsets % step == 0:
            yield None
    soa_rdata = zone.soa.rdatas[0]
    soa = _RR_FIXED.pack(dns.rdatatype.SOA, dns.rdataclass.IN, zone.soa.ttl)
    soa += len(soa_rdata).to_bytes(2, "big") + soa_rdata
    yield ZoneRecords(zone.name, zone.serial, apex, soa, owners, tails, rrsets)


def zone_records(zone: ZoneSnapshot, docs: Mapping[str, Any]) -> ZoneRecords:
    """`build_zone_records` in one go."""
    *_, records = build_zone_records(zone, docs)
    assert records is not None
    return records


class TsigSigner:
    """Signs the messages of one transfer in turn (RFC 8945 section 5.3.1): the first one over the
    request's MAC, each later one over the previous message's MAC."""

    def __init__(
        self,
        key: dns.tsig.Key,
        owner: dns.name.Name,
        qid: int,
        request_mac: bytes,
        *,
        fudge: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        owner_wire = owner.to_wire()
        assert owner_wire is not None
        self._owner = owner_wire  # the key name as the client wrote it
        self._template = dns.rdtypes.ANY.TSIG.TSIG(
            dns.rdataclass.ANY, dns.rdatatype.TSIG, key.algorithm, 0, fudge, b"", qid, 0, b""
        )
        self._request_mac = request_mac
        self._ctx: Any = None
        self._clock = clock

    def sign(self, message: bytes) -> bytes:
        tsig, self._ctx = dns.tsig.sign(
            message, self._key, self._template, int(self._clock()), self._request_mac, self._ctx, True
        )
        rdata = tsig.to_wire()
        assert rdata is not None
        record = self._owner + _TSIG_FIXED.pack(dns.rdatatype.TSIG, dns.rdataclass.ANY, 0, len(rdata)) + rdata
        arcount = int.from_bytes(message[10:12], "big") + 1
        return message[:10] + arcount.to_bytes(2, "big") + message[12:] + record


def render_transfer(
    qid: int, flags: int, question: bytes, zone: ZoneRecords, signer: TsigSigner | None
) -> Iterator[bytes]:
    """SOA, every record, SOA, in messages of at most 64 KiB; the question in the first one only
    (RFC 5936 section 2.2.1). Rendered one message per step, so the caller can yield in between."""
    owners = zone.owners
    tails = zone.tails
    total = len(tails) + 2  # the SOA before and after the records
    limit = MAX_MESSAGE - (TSIG_RESERVE if signer is not None else 0)
    index = 0
    first = True
    while first or index < total:
        parts = [b"", question] if first else [b""]
        size = _HEADER.size + (len(question) if first else 0)
        pointer = b""
        count = 0
        while index < total:
            if index == 0 or index == total - 1:
                prefix, tail = None, zone.soa
            else:
                prefix, tail = owners[index - 1], tails[index - 1]
            if not pointer:  # first record of the message: the apex in full, pointed at from then on
                owner = (prefix or b"") + zone.apex
                apex_at = size + len(prefix or b"")
            else:
                owner = (prefix or b"") + pointer
            if size + len(owner) + len(tail) > limit:
                if count == 0:
                    raise ValueError(f"a record of {zone.name} does not fit in one message")
                break
            if not pointer:
                assert apex_at <= _MAX_POINTER  # the first record starts near the top of a message
                pointer = (0xC000 | apex_at).to_bytes(2, "big")
            parts.append(owner)
            parts.append(tail)
            size += len(owner) + len(tail)
            count += 1
            index += 1
        parts[0] = _HEADER.pack(qid, flags, 1 if first else 0, count, 0, 0)
        message = b"".join(parts)
        first = False
        yield signer.sign(message) if signer is not None else message
