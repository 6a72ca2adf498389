"""DNS wire encoding of names, rdata and resource records, by hand.

Everything here runs at compile time, so answers are bytes the hot path only concatenates. The
common types are encoded with `struct` and `bytes.join` (about ten times faster than building
dnspython rdata objects, which matters for 100,000 record sets); types without GSLB meaning go
through dnspython's own encoder, which is slower but exact for every syntax it accepts.

Names are encoded uncompressed: compression only pays across a whole message, and the one name
every answer shares, the question name, is referenced with the pointer 0xC00C instead.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

__all__ = [
    "CLASS_IN",
    "QUESTION_POINTER",
    "RDTYPE",
    "encode_a",
    "encode_aaaa",
    "encode_caa",
    "encode_generic",
    "encode_mx",
    "encode_name",
    "encode_soa",
    "encode_srv",
    "encode_txt",
    "rdtype_code",
    "rr_for_question",
    "rr_with_owner",
]

CLASS_IN = 1
# The question name always starts at offset 12, right after the fixed header, so every answer
# owned by the question name can point there without knowing the name.
QUESTION_POINTER = b"\xc0\x0c"

RDTYPE: dict[str, int] = {
    "A": 1,
    "NS": 2,
    "CNAME": 5,
    "SOA": 6,
    "PTR": 12,
    "MX": 15,
    "TXT": 16,
    "AAAA": 28,
    "SRV": 33,
    "DS": 43,
    "CAA": 257,
}

_RR_HEADER = struct.Struct("!HHIH")
_MAX_NAME_WIRE = 255
_MAX_LABEL = 63
_MAX_CHARACTER_STRING = 255


def rdtype_code(rdtype: str) -> int:
    """Numeric code of a record type mnemonic ("A" -> 1); dnspython knows the rare ones."""
    code = RDTYPE.get(rdtype)
    return code if code is not None else int(dns.rdatatype.from_text(rdtype))


def encode_name(fqdn: str) -> bytes:
    """Uncompressed wire form of a domain name; a missing trailing dot is implied (names are absolute).

    Labels are taken as written except for case: DNS compares names case-insensitively and the
    policy stores them lower-case, so lower-casing here only guards against hand-built input.
    """
    name = fqdn.lower()
    if name in (".", ""):
        return b"\x00"
    if name.endswith("."):
        name = name[:-1]
    parts = []
    for label in name.split("."):
        raw = label.encode("ascii")
        if not raw or len(raw) > _MAX_LABEL:
            raise ValueError(f"{fqdn!r}: labels must be 1-{_MAX_LABEL} octets")
        parts.append(bytes((len(raw),)))
        parts.append(raw)
    parts.append(b"\x00")
    wire = b"".join(parts)
    if len(wire) > _MAX_NAME_WIRE:
        raise ValueError(f"{fqdn!r} is longer than {_MAX_NAME_WIRE} octets on the wire")
    return wire


def encode_a(address: IPv4Address | str) -> bytes:
    return (address if isinstance(address, IPv4Address) else IPv4Address(address)).packed


def encode_aaaa(address: IPv6Address | str) -> bytes:
    return (address if isinstance(address, IPv6Address) else IPv6Address(address)).packed


_MX = struct.Struct("!H")
_SRV = struct.Struct("!HHH")
_SOA_TIMERS = struct.Struct("!IIIII")


def encode_mx(preference: int, exchange: str) -> bytes:
    return _MX.pack(preference) + encode_name(exchange)


def encode_srv(priority: int, weight: int, port: int, target: str) -> bytes:
    # RFC 2782: the target is never compressed, which an uncompressed encoding satisfies anyway.
    return _SRV.pack(priority, weight, port) + encode_name(target)


def _character_strings(data: bytes) -> Iterable[bytes]:
    if not data:
        yield b"\x00"  # an empty TXT value is one empty character-string, not zero of them
        return
    for start in range(0, len(data), _MAX_CHARACTER_STRING):
        chunk = data[start : start + _MAX_CHARACTER_STRING]
        yield bytes((len(chunk),)) + chunk


def encode_txt(value: str | bytes) -> bytes:
    """One TXT value as consecutive character-strings of at most 255 octets each.

    The value is the literal text (UTF-8), not zone-file syntax: no quoting or escapes. Long values
    (SPF, DKIM keys) are split on octet boundaries; resolvers and receivers concatenate the strings.
    """
    data = value.encode("utf-8") if isinstance(value, str) else value
    return b"".join(_character_strings(data))


def encode_caa(flags: int, tag: str, value: str) -> bytes:
    raw_tag = tag.encode("ascii")
    return bytes((flags, len(raw_tag))) + raw_tag + value.encode("utf-8")


def encode_soa(
    mname: str, rname: str, serial: int, refresh: int, retry: int, expire: int, minimum: int
) -> bytes:
    return encode_name(mname) + encode_name(rname) + _SOA_TIMERS.pack(serial, refresh, retry, expire, minimum)


def encode_generic(rdtype: str, text: str, *, origin: str | None = None) -> bytes:
    """Rdata of any type dnspython knows, from presentation (zone-file) syntax.

    `origin` completes relative names inside the rdata (e.g. a NAPTR replacement), as a zone file
    would with $ORIGIN set to the zone.
    """
    origin_name = dns.name.from_text(origin) if origin is not None else None
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), text, origin=origin_name)
    wire = rdata.to_wire(origin=origin_name)
    assert wire is not None  # None only when writing into a file we did not pass
    return wire


def rr_with_owner(owner_wire: bytes, rdtype: int, ttl: int, rdata: bytes) -> bytes:
    """A resource record of class IN whose owner is the given wire name (or compression pointer)."""
    return owner_wire + _RR_HEADER.pack(rdtype, CLASS_IN, ttl, len(rdata)) + rdata


def rr_for_question(rdtype: int, ttl: int, rdata: bytes) -> bytes:
    """A resource record owned by the question name of the reply (pointer 0xC00C)."""
    return QUESTION_POINTER + _RR_HEADER.pack(rdtype, CLASS_IN, ttl, len(rdata)) + rdata
