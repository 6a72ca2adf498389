"""RFC 1035 zone files (BIND syntax) -> the record sets of one zone, read with dnspython.

dnspython's zone reader is used as `dns.zone.from_text` uses it (relativized names, $ORIGIN and
$TTL honoured, $INCLUDE refused because importing is pure), with two additions: the tokenizer
remembers which line each record starts on, so every problem can name its line, and the records
are collected as written instead of into a `dns.zone.Zone`, so rules the policy validator already
explains (CNAME beside other data, apex SOA/NS) are reported by it, with the line, not by dnspython.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tokenizer
import dns.zone
import dns.zonefile

from gslb.importer.collector import Collector
from gslb.importer.locator import LineSource, Position
from gslb.importer.result import ImportedPolicy
from gslb.importer.zone_target import zone_target
from gslb.policy import SUPPORTED_TYPES


def load_bind_zone(
    text: str, *, filename: str, zone: str, tenant: str | None = None, create_zone: bool = False
) -> ImportedPolicy:
    """Parse a zone file as the complete set of `zone`'s record sets (SOA kept as an SOA record set).

    Same zone semantics as `load_octodns_zone_yaml`. Raises PolicyImportError listing every located
    problem; a syntax error stops reading, so it is reported with whatever was found before it.
    """
    collector = Collector(filename)
    name, scope = zone_target(collector, zone=zone, tenant=tenant, create_zone=create_zone)
    origin = dns.name.from_text(name)
    tokenizer = _LineTrackingTokenizer(text, filename)
    recorder = _Recorder(tokenizer)
    try:
        _read(tokenizer, recorder, origin)
    except dns.exception.DNSException as exc:
        collector.problem(Position(tokenizer.token_line), f"zone file syntax error: {_detail(exc, filename)}")
    for key, found in recorder.rrsets.items():
        _add_rrset(collector, name, origin, key, found)
    return collector.result(scope, tenant=tenant)


class _LineTrackingTokenizer(dns.tokenizer.Tokenizer):
    """Knows the line of the last token and of the first token of the current record.

    dnspython reports the tokenizer's current line, which is already the next one when the
    offending token ended its line; the line the token started on is what a user needs.
    """

    def __init__(self, text: str, filename: str) -> None:
        super().__init__(text, filename)
        self.token_line = 1
        self.record_line = 1
        self._at_line_start = True

    def get(self, want_leading: bool = False, want_comment: bool = False) -> dns.tokenizer.Token:
        replay = self.ungotten_token is not None
        token = super().get(want_leading, want_comment)
        if not replay:
            # Reading a token ends by reading its delimiter; a newline there already bumped the count.
            newline_read = token.is_eol() or self.ungotten_char == "\n"
            self.token_line = self.line_number - 1 if newline_read else self.line_number
        if token.is_eol_or_eof():
            self._at_line_start = True
        elif self._at_line_start and not token.is_comment():
            self.record_line = self.token_line
            self._at_line_start = False
        return token


@dataclass
class _Found:
    rdatas: list[dns.rdata.Rdata] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    ttls: set[int] = field(default_factory=set)


class _Recorder:
    """Stands in for the transaction dnspython's reader writes to, keeping records in file order."""

    def __init__(self, tokenizer: _LineTrackingTokenizer) -> None:
        self.tokenizer = tokenizer
        self.rrsets: dict[tuple[dns.name.Name, dns.rdatatype.RdataType], _Found] = {}
        self.txn: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.txn, name)

    def check_put_rdataset(self, _check: Any) -> None:
        """dnspython would refuse CNAME beside other data without a line; validate() says where."""

    def add(self, name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata) -> None:
        found = self.rrsets.setdefault((name, rdata.rdtype), _Found())
        found.ttls.add(ttl)
        if rdata not in found.rdatas:
            found.rdatas.append(rdata)
            found.lines.append(self.tokenizer.record_line)


def _read(tokenizer: _LineTrackingTokenizer, recorder: _Recorder, origin: dns.name.Name) -> None:
    zone = dns.zone.Zone(origin, relativize=True)
    with zone.writer(replacement=True) as txn:
        recorder.txn = txn
        reader = dns.zonefile.Reader(tokenizer, dns.rdataclass.IN, recorder, allow_include=False)  # type: ignore[arg-type]
        reader.read()


def _detail(exc: dns.exception.DNSException, filename: str) -> str:
    text = str(exc)
    # dnspython prefixes "FILE:LINE: " with the line its tokenizer stopped at; ours is more exact.
    prefix = f"{filename}:"
    if text.startswith(prefix):
        rest = text[len(prefix) :]
        number, sep, detail = rest.partition(": ")
        if sep and number.isdigit():
            return detail
    return text


def _add_rrset(
    collector: Collector,
    zone: str,
    origin: dns.name.Name,
    key: tuple[dns.name.Name, dns.rdatatype.RdataType],
    found: _Found,
) -> None:
    name, rdtype = key
    type_text = dns.rdatatype.to_text(rdtype)
    owner = name.to_text()
    position = Position(found.lines[0])
    if type_text not in SUPPORTED_TYPES:
        fqdn = name.derelativize(origin).to_text()
        collector.problem(
            position,
            f"{fqdn} {type_text}: record type {type_text} is not supported; "
            f"supported: {', '.join(SUPPORTED_TYPES)}",
        )
        return
    label = f"rrset:{zone}/{owner}/{type_text}"
    try:
        values = [_value(type_text, rdata, origin) for rdata in found.rdatas]
    except ValueError as exc:
        collector.problem(position, f"{label}: {exc}")
        return
    ttl = min(found.ttls)
    if len(found.ttls) > 1:
        collector.warn(
            position,
            f"{label}: its records have different TTLs ({', '.join(map(str, sorted(found.ttls)))}); "
            f"a record set has one TTL, using the lowest, {ttl}",
        )
    body = {"zone": zone, "name": owner, "type": type_text, "ttl": ttl, "values": values}
    collector.add("rrset", body, LineSource(tuple(found.lines)))


def _absolute(name: dns.name.Name, origin: dns.name.Name) -> str:
    return name.derelativize(origin).to_text()


def _value(rdtype: str, rdata: Any, origin: dns.name.Name) -> Any:
    """One rdata in the model's value form (names absolute: the zone file's were relative to it)."""
    if rdtype in ("A", "AAAA"):
        return rdata.address
    if rdtype in ("CNAME", "NS", "PTR"):
        return _absolute(rdata.target, origin)
    if rdtype == "MX":
        return {"preference": rdata.preference, "exchange": _absolute(rdata.exchange, origin)}
    if rdtype == "SRV":
        return {
            "priority": rdata.priority,
            "weight": rdata.weight,
            "port": rdata.port,
            "target": _absolute(rdata.target, origin),
        }
    if rdtype == "CAA":
        return {"flags": rdata.flags, "tag": _text(rdata.tag), "value": _text(rdata.value)}
    if rdtype == "TXT":
        # Several <character-string>s form one value: their split is wire framing, not meaning.
        return _text(b"".join(rdata.strings))
    if rdtype == "SOA":
        return {
            "mname": _absolute(rdata.mname, origin),
            "rname": _absolute(rdata.rname, origin),
            "serial": rdata.serial,
            "refresh": rdata.refresh,
            "retry": rdata.retry,
            "expire": rdata.expire,
            "minimum": rdata.minimum,
        }
    return rdata.to_text(origin=origin, relativize=False)


def _text(data: bytes) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise ValueError(f"{data!r} is not UTF-8 text, which the policy model stores") from None
