"""Bounds-checked parse of the question of a query, by hand (no dnspython on the hot path).

The question name is kept as the client sent it: the response echoes it byte for byte, case
included (RFC 1035 section 7.3 leaves answers to match the question; resolvers using 0x20 case
randomisation, draft-vixie-dnsext-dns0x20, check it). Lookups use the lower-cased copy.
"""

from __future__ import annotations

from typing import Final

from gslb.dns.message import HEADER_LEN, MalformedQuery

__all__ = ["name_key", "read_question"]

_MAX_NAME: Final = 255
_MAX_LABEL: Final = 63


def read_question(packet: bytes) -> tuple[bytes, int, int, int, int]:
    """(question to echo, length of its name, qtype, qclass, offset after the question).

    A compression pointer must aim at an earlier occurrence of a name (RFC 1035 4.1.4); the first
    question is preceded only by the header, so a pointer in it is always malformed, and the
    echoed question is always the query's own bytes.
    """
    end = len(packet)
    pos = HEADER_LEN
    while True:
        if pos >= end:
            raise MalformedQuery("question name runs past the end of the packet")
        length = packet[pos]
        if length == 0:
            break
        if length > _MAX_LABEL:
            if length >= 0xC0:
                raise MalformedQuery("compression pointer in the question (nothing precedes it to point at)")
            raise MalformedQuery("unknown label type in the question")
        pos += length + 1
        if pos - HEADER_LEN >= _MAX_NAME:
            raise MalformedQuery("question name longer than 255 octets")
    name_end = pos + 1
    if name_end + 4 > end:
        raise MalformedQuery("question truncated before its type and class")
    qtype = (packet[name_end] << 8) | packet[name_end + 1]
    qclass = (packet[name_end + 2] << 8) | packet[name_end + 3]
    return packet[HEADER_LEN : name_end + 4], name_end - HEADER_LEN, qtype, qclass, name_end + 4


def name_key(wire: bytes) -> str:
    """The snapshot's key for a lower-cased uncompressed wire name: "www.example.com.".

    A label holding "." or "\\" is escaped the way zone files do, so "a.b" as one label can never
    be mistaken for two labels (it then matches no node, only a zone above it).
    """
    if wire == b"\x00":
        return "."
    parts = []
    pos = 0
    length = wire[0]
    while length:
        text = wire[pos + 1 : pos + 1 + length].decode("latin-1")
        if "." in text or "\\" in text:
            text = text.replace("\\", "\\\\").replace(".", "\\.")
        parts.append(text)
        pos += length + 1
        length = wire[pos]
    parts.append("")
    return ".".join(parts)
