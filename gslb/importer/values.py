"""Record values as octoDNS writes them <-> as the policy model stores them.

octoDNS escapes ';' in TXT and SPF text as '\\;' (zone-file comment syntax leaks into its YAML),
accepts MX values under the legacy names `priority`/`value`, and writes TLSA, SSHFP, DS and NAPTR
values as field dictionaries where the model keeps RFC 1035 presentation text. Field names follow
octoDNS's `octodns/record/` value classes so users can paste their zone files unchanged.
"""

from __future__ import annotations

from typing import Any

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype

# Fields in presentation order; the quoted ones are <character-string>s.
RDATA_FIELDS: dict[str, tuple[str, ...]] = {
    "TLSA": ("certificate_usage", "selector", "matching_type", "certificate_association_data"),
    "SSHFP": ("algorithm", "fingerprint_type", "fingerprint"),
    "DS": ("key_tag", "algorithm", "digest_type", "digest"),
    "NAPTR": ("order", "preference", "flags", "service", "regexp", "replacement"),
}
_QUOTED = frozenset({"flags", "service", "regexp"})
_TXT_CHUNK = 255  # octets per <character-string>


def unescape_semicolons(text: str) -> str:
    return text.replace("\\;", ";")


def escape_semicolons(text: str) -> str:
    # A backslash already before a ';' must survive the round trip: "\;" -> "\\;" reads back as "\;".
    return text.replace(";", "\\;")


def quote(data: bytes) -> str:
    """One <character-string> in presentation form: quoted, with '"', '\\' and non-printables escaped."""
    out = []
    for byte in data:
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def quote_chunked(text: str) -> str:
    data = text.encode()
    chunks = [data[start : start + _TXT_CHUNK] for start in range(0, len(data), _TXT_CHUNK)] or [b""]
    return " ".join(quote(chunk) for chunk in chunks)


def from_octodns(rdtype: str | None, value: Any) -> tuple[Any, dict[str, str]]:
    """One value in octoDNS form -> model form, and {model field: octoDNS key} for renamed fields.

    Raises ValueError saying what is wrong with the value.
    """
    if rdtype == "MX" and isinstance(value, dict):
        return _mx(value)
    if rdtype == "TXT" and isinstance(value, str):
        return unescape_semicolons(value), {}
    if rdtype == "SPF" and isinstance(value, str) and not value.lstrip().startswith('"'):
        # octoDNS SPF text is unquoted and escaped like TXT; already-quoted text is zone-file syntax.
        return quote_chunked(unescape_semicolons(value)), {}
    if rdtype in RDATA_FIELDS and isinstance(value, dict):
        return _presentation(rdtype, value), {}
    return value, {}


def _mx(value: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    converted = dict(value)
    renamed = {}
    for legacy, field in (("priority", "preference"), ("value", "exchange")):
        if legacy in converted:
            if field in converted:
                raise ValueError(f"give either {field!r} or its legacy name {legacy!r}, not both")
            converted[field] = converted.pop(legacy)
            renamed[field] = legacy
    return converted, renamed


def _presentation(rdtype: str, value: dict[str, Any]) -> str:
    fields = RDATA_FIELDS[rdtype]
    missing = [name for name in fields if name not in value]
    unknown = sorted(str(name) for name in value if name not in fields)
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unknown:
            parts.append("unknown " + ", ".join(unknown))
        raise ValueError(f"{'; '.join(parts)}: a {rdtype} value has the fields {', '.join(fields)}")
    words = []
    for name in fields:
        item = value[name]
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise ValueError(f"{name} must be a number or text, not {type(item).__name__}")
        words.append(quote(str(item).encode()) if name in _QUOTED else str(item))
    return " ".join(words)


def to_octodns(rdtype: str, value: Any) -> Any:
    """A stored (JSON-mode) value -> the octoDNS form `from_octodns` reads back to the same value."""
    if rdtype == "TXT" and isinstance(value, str):
        return escape_semicolons(value)
    if rdtype in RDATA_FIELDS and isinstance(value, str):
        return _fields(rdtype, value)
    return value


def _fields(rdtype: str, text: str) -> Any:
    # dnspython exposes some fields as IntEnums (DSDigest, Algorithm): plain ints for YAML.
    try:
        rdata: Any = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), text)
    except dns.exception.DNSException:
        return text  # the model accepted it, so this cannot happen; the text form is still valid
    if rdtype == "TLSA":
        return {
            "certificate_usage": int(rdata.usage),
            "selector": int(rdata.selector),
            "matching_type": int(rdata.mtype),
            "certificate_association_data": rdata.cert.hex(),
        }
    if rdtype == "SSHFP":
        return {
            "algorithm": int(rdata.algorithm),
            "fingerprint_type": int(rdata.fp_type),
            "fingerprint": rdata.fingerprint.hex(),
        }
    if rdtype == "DS":
        return {
            "key_tag": int(rdata.key_tag),
            "algorithm": int(rdata.algorithm),
            "digest_type": int(rdata.digest_type),
            "digest": rdata.digest.hex(),
        }
    try:
        strings = [rdata.flags.decode(), rdata.service.decode(), rdata.regexp.decode()]
    except UnicodeDecodeError:
        return text  # not representable as YAML text; keep zone-file syntax
    flags, service, regexp = strings
    return {
        "order": int(rdata.order),
        "preference": int(rdata.preference),
        "flags": flags,
        "service": service,
        "regexp": regexp,
        "replacement": rdata.replacement.to_text(),
    }
