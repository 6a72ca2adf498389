"""Parse the record sections after the question: find the OPT record and its client-subnet option.

Queries rarely carry anything but one OPT, but every record is walked bounds-checked so that a
packet with bogus counts or records fails cleanly (MalformedQuery -> FORMERR) instead of raising.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from gslb.dns.message import OPTION_ECS, TYPE_OPT, MalformedQuery

__all__ = ["Ecs", "Edns", "parse_records", "skip_name"]

_ROOT_OPT: Final = b"\x00\x00\x29"  # root owner, type 41
_FAMILY_BITS: Final = {1: 32, 2: 128}  # RFC 7871 section 6: IANA address family numbers


class Ecs(NamedTuple):
    """An EDNS Client Subnet option as received (RFC 7871)."""

    family: int  # 1 IPv4, 2 IPv6
    source: int  # SOURCE PREFIX-LENGTH
    address: bytes  # ceil(source / 8) octets, as sent (echoed back unchanged)
    value: int  # the address padded to its full width, as an integer


class Edns(NamedTuple):
    payload: int  # requestor's UDP payload size, raised to 512
    version: int
    do: bool
    ecs: Ecs | None


def skip_name(packet: bytes, pos: int) -> int:
    """Offset just past a (possibly compressed) name; pointers are not followed, so cannot loop."""
    end = len(packet)
    start = pos
    while True:
        if pos >= end:
            raise MalformedQuery("name runs past the end of the packet")
        length = packet[pos]
        if length == 0:
            return pos + 1
        if length >= 0xC0:
            if pos + 2 > end:
                raise MalformedQuery("truncated compression pointer")
            return pos + 2
        if length > 63:
            raise MalformedQuery("unknown label type")
        pos += length + 1
        if pos - start > 255:
            raise MalformedQuery("name longer than 255 octets")


def parse_ecs(data: bytes) -> Ecs:
    if len(data) < 4:
        raise MalformedQuery("ECS option shorter than 4 octets")
    family = (data[0] << 8) | data[1]
    source = data[2]
    bits = _FAMILY_BITS.get(family)
    if bits is None:
        raise MalformedQuery(f"ECS family {family} unknown")
    if source > bits:
        raise MalformedQuery(f"ECS source prefix {source} longer than the address")
    address = data[4:]
    if len(address) != (source + 7) // 8:
        # RFC 7871 section 6: exactly the octets the prefix needs, no more, no fewer.
        raise MalformedQuery("ECS address length does not match its source prefix")
    value = int.from_bytes(address, "big") << (bits - 8 * len(address))
    if value & ((1 << (bits - source)) - 1):
        raise MalformedQuery("ECS address has bits set beyond its source prefix")
    # SCOPE in a query MUST be 0 (section 6) but rejecting it gains nothing; it is ignored.
    return Ecs(family, source, address, value)


def parse_options(data: bytes) -> Ecs | None:
    ecs = None
    pos = 0
    end = len(data)
    while pos < end:
        if pos + 4 > end:
            raise MalformedQuery("truncated EDNS option header")
        code = (data[pos] << 8) | data[pos + 1]
        length = (data[pos + 2] << 8) | data[pos + 3]
        pos += 4
        if pos + length > end:
            raise MalformedQuery("EDNS option runs past its record")
        if code == OPTION_ECS:
            if ecs is not None:
                raise MalformedQuery("more than one ECS option")
            ecs = parse_ecs(data[pos : pos + length])
        # Unknown options (cookies, padding, keepalive...) are ignored: RFC 6891 section 6.1.2.
        pos += length
    return ecs


def parse_records(packet: bytes, pos: int, ancount: int, nscount: int, arcount: int) -> Edns | None:
    """Walk every record after the question; the OPT record's contents, or None without one.

    Trailing bytes after the last record are ignored (some stacks pad); more than one OPT, an OPT
    outside the additional section or one not owned by the root is FORMERR (RFC 6891 section 6.1.1).
    """
    end = len(packet)
    # What nearly every resolver sends: one OPT, nothing else. Same checks, no record walk.
    if arcount == 1 and not (ancount or nscount) and packet[pos : pos + 3] == _ROOT_OPT and pos + 11 <= end:
        rdlength = (packet[pos + 9] << 8) | packet[pos + 10]
        if pos + 11 + rdlength > end:
            raise MalformedQuery("rdata runs past the end of the packet")
        return _opt(packet, pos, pos + 11, pos + 11 + rdlength)
    edns = None
    total = ancount + nscount + arcount
    first_additional = ancount + nscount
    for index in range(total):
        owner = pos
        pos = skip_name(packet, pos)
        if pos + 10 > end:
            raise MalformedQuery("truncated resource record")
        rdtype = (packet[pos] << 8) | packet[pos + 1]
        rdlength = (packet[pos + 8] << 8) | packet[pos + 9]
        rdata_at = pos + 10
        pos = rdata_at + rdlength
        if pos > end:
            raise MalformedQuery("rdata runs past the end of the packet")
        if rdtype != TYPE_OPT:
            continue
        if index < first_additional or edns is not None or packet[owner] != 0:
            raise MalformedQuery("misplaced, repeated or non-root OPT record")
        edns = _opt(packet, owner, rdata_at, pos)
    return edns


def _opt(packet: bytes, owner: int, rdata_at: int, rdata_end: int) -> Edns:
    payload = (packet[owner + 3] << 8) | packet[owner + 4]
    version = packet[owner + 6]
    do = packet[owner + 7] >= 0x80
    if rdata_at == rdata_end:
        return Edns(payload if payload > 512 else 512, version, do, None)
    try:
        ecs = parse_options(packet[rdata_at:rdata_end])
    except MalformedQuery as exc:
        raise MalformedQuery(str(exc), opt_parsed=True) from None
    return Edns(payload if payload > 512 else 512, version, do, ecs)
