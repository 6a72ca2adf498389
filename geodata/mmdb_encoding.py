"""The data-section encoding of the MaxMind DB format 2.0, written from the public specification.

https://maxmind.github.io/MaxMind-DB/ ("Output Data Section"). Each field is a control byte (type in
the top 3 bits, payload size in the low 5; type 0 means "extended type in the next byte, minus 7"),
optional size bytes, then the payload, big-endian.

`encode` gives the self-contained ("canonical") bytes of a value; `DataSection` lays values out
and replaces repeated sub-values with pointers to their first copy.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from geodata.errors import MMDBWriteError

__all__ = ["DataSection", "Typed", "encode"]

POINTER = 1
UTF8_STRING = 2
DOUBLE = 3
BYTES = 4
UINT16 = 5
UINT32 = 6
MAP = 7
INT32 = 8
UINT64 = 9
UINT128 = 10
ARRAY = 11
BOOLEAN = 14

_UNSIGNED_LIMITS = ((UINT16, 1 << 16), (UINT32, 1 << 32), (UINT64, 1 << 64), (UINT128, 1 << 128))
_MAX_PAYLOAD = 16_843_036
_DOUBLE_STRUCT = struct.Struct(">d")
_SUPPORTED = "dict (str keys), list/tuple, str, int, float, bool or bytes"


@dataclass(frozen=True, slots=True)
class Typed:
    """An unsigned integer pinned to a wire type: readers such as libmaxminddb check metadata types."""

    type_id: int
    value: int


def _control(type_id: int, size: int) -> bytes:
    if size < 29:
        head, extra = size, b""
    elif size < 285:
        head, extra = 29, (size - 29).to_bytes(1, "big")
    elif size < 65_821:
        head, extra = 30, (size - 285).to_bytes(2, "big")
    elif size <= _MAX_PAYLOAD:
        head, extra = 31, (size - 65_821).to_bytes(3, "big")
    else:
        raise MMDBWriteError(f"a field of size {size} exceeds the format's limit of {_MAX_PAYLOAD}")
    if type_id <= 7:
        return bytes((type_id << 5 | head,)) + extra
    return bytes((head, type_id - 7)) + extra


def _unsigned(type_id: int, value: int) -> bytes:
    payload = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return _control(type_id, len(payload)) + payload


def encode_string(text: str) -> bytes:
    payload = text.encode("utf-8")
    return _control(UTF8_STRING, len(payload)) + payload


def encode_pointer(offset: int) -> bytes:
    """A pointer to `offset` in the data section, in the shortest of the four pointer forms."""
    if offset < 1 << 11:
        return bytes((0x20 | offset >> 8, offset & 0xFF))
    if offset < (1 << 19) + 2048:
        value = offset - 2048
        return bytes((0x28 | value >> 16,)) + (value & 0xFFFF).to_bytes(2, "big")
    if offset < (1 << 27) + 526_336:
        value = offset - 526_336
        return bytes((0x30 | value >> 24,)) + (value & 0xFFFFFF).to_bytes(3, "big")
    if offset < 1 << 32:
        return b"\x38" + offset.to_bytes(4, "big")
    raise MMDBWriteError("the data section is larger than the format's 4 GiB pointer range")


def _encode_int(value: int, where: str) -> bytes:
    if value >= 0:
        for type_id, limit in _UNSIGNED_LIMITS:
            if value < limit:
                return _unsigned(type_id, value)
        raise MMDBWriteError(f"integer {value} at {where} does not fit uint128 (the largest integer type)")
    if value >= -(1 << 31):
        # Always 4 bytes: readers pad shorter payloads with zeros, which would lose the sign.
        return _control(INT32, 4) + value.to_bytes(4, "big", signed=True)
    raise MMDBWriteError(f"negative integer {value} at {where} does not fit int32; store it as a float")


def encode_scalar(value: Any, where: str) -> bytes:
    """Bytes of a value that is not a container; raises MMDBWriteError naming `where` if unsupported."""
    # bool before int: bool is a subclass of int.
    if isinstance(value, bool):
        return _control(BOOLEAN, int(value))
    if isinstance(value, str):
        return encode_string(value)
    if isinstance(value, int):
        return _encode_int(value, where)
    if isinstance(value, float):
        # NaN and infinities are valid IEEE-754 doubles; readers decode them as such.
        return _control(DOUBLE, 8) + _DOUBLE_STRUCT.pack(value)
    if isinstance(value, bytes | bytearray):
        return _control(BYTES, len(value)) + bytes(value)
    if isinstance(value, Typed):
        return _unsigned(value.type_id, value.value)
    raise MMDBWriteError(
        f"unsupported value {value!r} (type {type(value).__name__}) at {where}; use {_SUPPORTED}"
    )


def _key_where(where: str, key: object) -> str:
    return f"{where}.{key}" if where != "<record>" else str(key)


def _check_key(key: object, where: str) -> str:
    if not isinstance(key, str):
        raise MMDBWriteError(f"map key {key!r} at {where} must be a string, not {type(key).__name__}")
    return key


def encode(value: Any, where: str = "<record>") -> bytes:
    """The self-contained encoding of `value` (no pointers); `where` names it in error messages."""
    if isinstance(value, Mapping):
        parts = [_control(MAP, len(value))]
        for key, item in value.items():
            parts.append(encode_string(_check_key(key, where)))
            parts.append(encode(item, _key_where(where, key)))
        return b"".join(parts)
    if isinstance(value, list | tuple):
        parts = [_control(ARRAY, len(value))]
        parts.extend(encode(item, f"{where}[{index}]") for index, item in enumerate(value))
        return b"".join(parts)
    return encode_scalar(value, where)


class DataSection:
    """An append-only data section that stores each distinct value once.

    A whole record identical to an earlier one is not written again: its earlier offset is reused.
    Inside records, a map, array or string seen before becomes a pointer when that is shorter, so
    fields repeated across records (a continent, a country) are stored once.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        # canonical bytes -> offset of a field holding exactly that value (never a pointer, since
        # the format forbids pointers to pointers).
        self._offsets: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self._buffer)

    def add(self, value: Any, where: str = "<record>") -> int:
        """Store `value` (validating it) and return its offset in the data section."""
        canonical = encode(value, where)
        offset = self._offsets.get(canonical)
        if offset is not None:
            return offset
        offset = len(self._buffer)
        self._emit(value, canonical)
        return offset

    def to_bytes(self) -> bytes:
        return bytes(self._buffer)

    def _emit(self, value: Any, canonical: bytes) -> None:
        start = len(self._buffer)
        if isinstance(value, Mapping):
            self._buffer += _control(MAP, len(value))
            for key, item in value.items():
                # Keys stay inline: short, and some readers only expect strings there.
                self._buffer += encode_string(key)
                self._emit_shared(item)
        elif isinstance(value, list | tuple):
            self._buffer += _control(ARRAY, len(value))
            for item in value:
                self._emit_shared(item)
        else:
            self._buffer += canonical
        self._offsets.setdefault(canonical, start)

    def _emit_shared(self, value: Any) -> None:
        if not isinstance(value, Mapping | list | tuple | str | bytes | bytearray):
            # Numbers and booleans take a few bytes: a pointer (2-5 bytes) would rarely be shorter.
            self._buffer += encode_scalar(value, "<validated>")
            return
        canonical = encode(value)
        previous = self._offsets.get(canonical)
        if previous is not None:
            pointer = encode_pointer(previous)
            if len(pointer) < len(canonical):
                self._buffer += pointer
                return
        self._emit(value, canonical)
