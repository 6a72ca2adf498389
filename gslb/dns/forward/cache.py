"""The forwarding cache: upstream answers kept as ready wire, TTLs decayed, bounded by LRU. No I/O.

An entry is the upstream response rendered without its OPT record, with the offset of every TTL
field remembered, so a hit costs a dict probe, an LRU touch and, at most once a second per entry,
re-writing the TTLs to what is left of them (RFC 1035: a cached record's TTL counts down). The
caller patches the ID, copies the client's RD bit and question spelling, and appends its OPT.

Lifetimes (RFC 2308, RFC 8767):
- positive answers live for their smallest TTL, clamped to [min_ttl, max_ttl];
- negative answers (NXDOMAIN, NODATA) for min(SOA TTL, SOA minimum) from the authority section,
  capped at max_negative_ttl; without an SOA, for `negative_ttl_without_soa`;
- past expiry an entry may still be served for `stale_ttl` seconds when the upstreams fail,
  with its TTLs set to `stale_answer_ttl` (30 s, RFC 8767 section 4).

Time is passed in (monotonic seconds), never read here.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from gslb.dns.edns import skip_name
from gslb.dns.message import HEADER_LEN, NOERROR, NXDOMAIN, TYPE_OPT, TYPE_SOA, MalformedQuery

__all__ = ["CacheEntry", "CacheKey", "CacheSettings", "ForwardCache", "parse_for_cache"]

_TTL: Final = struct.Struct("!I")
_RR_FIXED: Final = struct.Struct("!HHIH")


class CacheKey(NamedTuple):
    name: bytes  # lower-cased wire name
    qtype: int
    qclass: int
    do: bool


@dataclass(frozen=True, slots=True)
class CacheSettings:
    max_entries: int = 100_000
    min_ttl: int = 0
    max_ttl: int = 86_400
    max_negative_ttl: int = 3_600
    negative_ttl_without_soa: int = 60
    stale_ttl: int = 86_400  # how long past expiry an answer may be served when upstreams fail
    stale_answer_ttl: int = 30


@dataclass(slots=True)
class CacheEntry:
    template: bytes  # header + question + records, without OPT; TTLs as received
    ttl_offsets: tuple[int, ...]
    ttls: tuple[int, ...]
    rcode: int
    lifetime: int  # seconds the answer is fresh
    stored_at: float
    hits: int = 0
    prefetching: bool = False
    _rendered: bytes = field(default=b"")
    _rendered_age: int = -1

    def wire(self, now: float, *, stale: bool = False, stale_ttl: int = 30) -> bytes:
        """The response bytes with TTLs reduced by the entry's age (whole seconds)."""
        age = int(now - self.stored_at)
        key = -2 if stale else age
        if key == self._rendered_age:
            return self._rendered
        data = bytearray(self.template)
        for offset, ttl in zip(self.ttl_offsets, self.ttls, strict=True):
            _TTL.pack_into(data, offset, min(ttl, stale_ttl) if stale else max(0, ttl - age))
        self._rendered = bytes(data)
        self._rendered_age = key
        return self._rendered

    def expires_at(self) -> float:
        return self.stored_at + self.lifetime


class ParsedResponse(NamedTuple):
    template: bytes
    ttl_offsets: tuple[int, ...]
    ttls: tuple[int, ...]
    rcode: int
    lifetime: int | None  # None: not cacheable


def parse_for_cache(response: bytes, settings: CacheSettings) -> ParsedResponse:
    """Walk an upstream response: drop its OPT, find every TTL, and work out how long it may live.

    Raises MalformedQuery for a response that does not parse (it is then not used at all).
    """
    if len(response) < HEADER_LEN:
        raise MalformedQuery("response shorter than a header")
    flags = (response[2] << 8) | response[3]
    rcode = flags & 0xF
    qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHH", response, 4)
    if qdcount != 1:
        raise MalformedQuery("response without exactly one question")
    pos = skip_name(response, HEADER_LEN) + 4
    if pos > len(response):
        raise MalformedQuery("response question truncated")
    kept = [response[HEADER_LEN:pos]]
    offsets: list[int] = []
    ttls: list[int] = []
    out = pos  # offset in the template being built
    soa_negative: int | None = None
    kept_additional = 0
    total = ancount + nscount + arcount
    for index in range(total):
        start = pos
        pos = skip_name(response, pos)
        if pos + 10 > len(response):
            raise MalformedQuery("response record truncated")
        rdtype, _rdclass, ttl, rdlength = _RR_FIXED.unpack_from(response, pos)
        end = pos + 10 + rdlength
        if end > len(response):
            raise MalformedQuery("response rdata runs past the end")
        if rdtype == TYPE_OPT:
            if index < ancount + nscount:
                raise MalformedQuery("OPT outside the additional section")
            pos = end
            continue  # the client gets our OPT, not the upstream's
        if ancount <= index < ancount + nscount and rdtype == TYPE_SOA:
            minimum = _TTL.unpack_from(response, end - 4)[0]
            soa_negative = min(ttl, minimum)
        offsets.append(out + (pos - start) + 4)
        ttls.append(ttl)
        kept.append(response[start:end])
        out += end - start
        if index >= ancount + nscount:
            kept_additional += 1
        pos = end
    header = response[:10] + struct.pack("!H", kept_additional)
    template = header + b"".join(kept)
    lifetime: int | None
    if rcode == NXDOMAIN or (rcode == NOERROR and ancount == 0):
        negative = settings.negative_ttl_without_soa if soa_negative is None else soa_negative
        lifetime = min(negative, settings.max_negative_ttl)
    elif rcode == NOERROR:
        answer_ttls = ttls[:ancount] or [0]
        lifetime = max(settings.min_ttl, min(min(answer_ttls), settings.max_ttl))
    else:
        lifetime = None  # SERVFAIL, REFUSED, ...: never cached
    return ParsedResponse(template, tuple(offsets), tuple(ttls), rcode, lifetime)


class ForwardCache:
    """Bounded LRU of CacheEntry by CacheKey. Not thread-safe; one per event loop."""

    def __init__(self, settings: CacheSettings) -> None:
        self.settings = settings
        self._entries: OrderedDict[CacheKey, CacheEntry] = OrderedDict()
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey, now: float) -> CacheEntry | None:
        """A fresh entry (counted as a hit), or None."""
        entry = self._entries.get(key)
        if entry is None or now >= entry.expires_at():
            return None
        self._entries.move_to_end(key)
        entry.hits += 1
        return entry

    def get_stale(self, key: CacheKey, now: float) -> CacheEntry | None:
        """An expired entry still within the serve-stale window, or None."""
        entry = self._entries.get(key)
        if entry is None or now >= entry.expires_at() + self.settings.stale_ttl:
            return None
        return entry

    def put(self, key: CacheKey, parsed: ParsedResponse, now: float) -> CacheEntry | None:
        if parsed.lifetime is None or parsed.lifetime <= 0:
            return None
        entry = CacheEntry(
            parsed.template, parsed.ttl_offsets, parsed.ttls, parsed.rcode, parsed.lifetime, now
        )
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.settings.max_entries:
            self._entries.popitem(last=False)
            self.evictions += 1
        return entry
