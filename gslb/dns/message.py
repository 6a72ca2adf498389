"""DNS message constants and the few response shapes built without a snapshot (errors, OPT).

Everything is plain ints and `struct` so the hot path never touches dnspython.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable
from typing import Final, NamedTuple, TypeAlias

__all__ = [
    "FLAG_AA",
    "FLAG_QR",
    "FLAG_TC",
    "HEADER",
    "MalformedQuery",
    "QueryInfo",
    "error_response",
    "opt_record",
]

HEADER: Final = struct.Struct("!HHHHHH")  # id, flags, qdcount, ancount, nscount, arcount
RR_FIXED: Final = struct.Struct("!HHIH")  # type, class, ttl, rdlength
OPT_FIXED: Final = struct.Struct("!HHIH")  # type 41, udp payload, ext-rcode/version/flags, rdlength
ECS_FIXED: Final = struct.Struct("!HHHBB")  # option code, option length, family, source, scope

FLAG_QR: Final = 0x8000
FLAG_AA: Final = 0x0400
FLAG_TC: Final = 0x0200
FLAG_RD: Final = 0x0100
FLAG_CD: Final = 0x0010
# RD and CD are copied from the query into the response (RFC 1035 section 4.1.1, RFC 4035 3.2.2).
COPIED_FLAGS: Final = FLAG_RD | FLAG_CD
OPCODE_MASK: Final = 0x7800

NOERROR: Final = 0
FORMERR: Final = 1
SERVFAIL: Final = 2
NXDOMAIN: Final = 3
NOTIMP: Final = 4
REFUSED: Final = 5
BADVERS: Final = 16  # extended: the upper 8 bits go into the OPT TTL (RFC 6891 section 6.1.3)

CLASS_IN: Final = 1
CLASS_ANY: Final = 255

TYPE_A: Final = 1
TYPE_NS: Final = 2
TYPE_CNAME: Final = 5
TYPE_SOA: Final = 6
TYPE_AAAA: Final = 28
TYPE_OPT: Final = 41
TYPE_DS: Final = 43
TYPE_IXFR: Final = 251
TYPE_AXFR: Final = 252
TYPE_MAILB: Final = 253
TYPE_MAILA: Final = 254
TYPE_ANY: Final = 255

OPTION_ECS: Final = 8
DO_BIT: Final = 0x8000  # in the low 16 bits of the OPT TTL

MIN_UDP_PAYLOAD: Final = 512  # RFC 1035 / RFC 6891 section 6.2.5: smaller advertisements count as 512
MAX_MESSAGE: Final = 65535  # TCP length prefix
HEADER_LEN: Final = 12


class MalformedQuery(Exception):
    """A query that cannot be parsed; answered with FORMERR, never seen outside the responder.

    `question` is the question as it should be echoed, or b"" when it did not parse; `opt_parsed`
    says the query's OPT record itself was well formed (only an option in it was not), so the
    FORMERR may carry our OPT: RFC 7871 section 7.1.1 wants that for a bad ECS option.
    """

    def __init__(self, why: str, question: bytes = b"", *, opt_parsed: bool = False) -> None:
        super().__init__(why)
        self.question = question
        self.opt_parsed = opt_parsed


# A response not known yet (a forwarded query): the listener awaits it off the hot path and sends
# what it gives (None: nothing to send).
Deferred: TypeAlias = Awaitable[bytes | None]


class QueryInfo(NamedTuple):
    """What the server counts per query: zone (None when no zone matched), qtype, rcode, pool."""

    zone: str | None
    qtype: int
    rcode: int
    pool: str | None


def opt_record(payload: int, *, do: bool = False, ext_rcode: int = 0, options: bytes = b"") -> bytes:
    """An OPT pseudo-RR owned by the root, EDNS version 0."""
    ttl = (ext_rcode << 24) | (DO_BIT if do else 0)
    return b"\x00" + OPT_FIXED.pack(TYPE_OPT, payload, ttl, len(options)) + options


def ecs_option(family: int, source: int, scope: int, address: bytes) -> bytes:
    """The client-subnet option echoed with our scope (RFC 7871 section 7.2.1)."""
    return ECS_FIXED.pack(OPTION_ECS, 4 + len(address), family, source, scope) + address


def error_response(qid: int, qflags: int, rcode: int, question: bytes = b"", opt: bytes = b"") -> bytes:
    """Header + optional question + optional OPT: the whole answer for errors and refusals.

    The opcode is echoed (RFC 1035 section 4.1.1) and RD/CD copied; only the low four bits of
    `rcode` fit the header, the rest belongs in `opt`.
    """
    flags = FLAG_QR | (qflags & (OPCODE_MASK | COPIED_FLAGS)) | (rcode & 0xF)
    return HEADER.pack(qid, flags, 1 if question else 0, 0, 0, 1 if opt else 0) + question + opt
