"""Rdata wire bytes of a static record set's values, one encoder per policy record class.

Values come from validated models, so encoding cannot fail for the built-in types; generic types
(presentation syntax parsed by dnspython) are encoded value by value and a value dnspython refuses
is skipped rather than failing the whole compile.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import dns.exception

from gslb.engine.memo import CompileMemo
from gslb.engine.wire import encode_caa, encode_generic, encode_txt
from gslb.policy.records import AnyRecordSet, SoaValue

__all__ = ["encode_soa_value", "record_rdatas"]

_SRV = struct.Struct("!HHH")


def encode_soa_value(value: SoaValue, serial: int, memo: CompileMemo) -> bytes:
    """SOA rdata; `serial` replaces a null serial (the store revision, mod 2**32)."""
    return b"".join(
        (
            memo.name(value.mname),
            memo.name(value.rname),
            (value.serial if value.serial is not None else serial).to_bytes(4, "big"),
            value.refresh.to_bytes(4, "big"),
            value.retry.to_bytes(4, "big"),
            value.expire.to_bytes(4, "big"),
            value.minimum.to_bytes(4, "big"),
        )
    )


def _addresses(values: tuple[Any, ...], memo: CompileMemo, origin: str, rdtype: str) -> list[bytes]:
    return [value.packed for value in values]


def _names(values: tuple[Any, ...], memo: CompileMemo, origin: str, rdtype: str) -> list[bytes]:
    return [memo.name(value) for value in values]


def _mx(values: tuple[Any, ...], memo: CompileMemo, origin: str, rdtype: str) -> list[bytes]:
    return [value.preference.to_bytes(2, "big") + memo.name(value.exchange) for value in values]


def _txt(values: tuple[Any, ...], memo: CompileMemo, origin: str, rdtype: str) -> list[bytes]:
    return [encode_txt(value) for value in values]


def _srv(values: tuple[Any, ...], memo: CompileMemo, origin: str, rdtype: str) -> list[bytes]:
    # RFC 2782 forbids compressing the target; it is encoded whole like every name here.
    return [_SRV.pack(value.priority, value.weight, value.port) + memo.name(value.target) for value in values]


def _caa(values: tuple[Any, ...], memo: CompileMemo, origin: str, rdtype: str) -> list[bytes]:
    return [encode_caa(value.flags, value.tag, value.value) for value in values]


def _generic(values: tuple[Any, ...], memo: CompileMemo, origin: str, rdtype: str) -> list[bytes]:
    encoded = []
    for text in values:
        try:
            encoded.append(encode_generic(rdtype, text, origin=origin))
        except (dns.exception.DNSException, ValueError):
            continue  # validation already refused it; one bad value must not stop the compile
    return encoded


_ENCODERS: dict[str, Callable[[tuple[Any, ...], CompileMemo, str, str], list[bytes]]] = {
    "A": _addresses,
    "AAAA": _addresses,
    "CNAME": _names,
    "NS": _names,
    "PTR": _names,
    "MX": _mx,
    "TXT": _txt,
    "SRV": _srv,
    "CAA": _caa,
}


def record_rdatas(record: AnyRecordSet, memo: CompileMemo) -> tuple[bytes, ...]:
    """Rdata of every static value in the order given, duplicates dropped (an RRset is a set).

    SOA is not handled here: its serial depends on the revision (see `encode_soa_value`).
    """
    rdtype: str = record.type  # type: ignore[attr-defined]
    encode = _ENCODERS.get(rdtype, _generic)
    rdatas = encode(record.values, memo, record.zone, rdtype)  # type: ignore[attr-defined]
    return tuple(dict.fromkeys(rdatas)) if len(rdatas) > 1 else tuple(rdatas)
