"""The DNS hot path: query bytes in, response bytes out, from the current snapshot. No I/O.

`Responder.answer_with_info(packet, client_ip, tcp=...)` is all a listener calls. The fast path for
a name asked before is: unpack the header, scan the question, one dict probe for a memoised `Plan`
keyed by the lower-cased name and type, then header + question as sent + pre-built sections. Plans
are built on a miss from the snapshot (`gslb.dns.resolve`) and dropped whenever the snapshot
object changes, so the memo never serves a stale answer; it is bounded and cleared when full, which
costs a random-subdomain flood a plan build per query and no more.

Choices the RFCs leave open, made here:

- QCLASS other than IN: REFUSED (we hold no data in other classes); QCLASS ANY is answered as IN.
- AXFR/IXFR (and MAILA/MAILB): NOTIMP here; the server handles AXFR over TCP before calling us.
- Opcode other than QUERY: NOTIMP with the header only. QDCOUNT other than 1: FORMERR, header
  only (RFC 9619).
- Malformed packets: FORMERR with the ID, the question only when it parsed, OPT only when the
  query's OPT parsed; never longer than the packet. Responses (QR=1) and runts are dropped.
- ANY: one record set of the name (RFC 8482 section 4.1), see `resolve._pick_any`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, Final, Protocol, TypeAlias

from gslb.dns.edns import Ecs, Edns, parse_records
from gslb.dns.message import (
    BADVERS,
    CLASS_ANY,
    CLASS_IN,
    COPIED_FLAGS,
    FLAG_QR,
    FLAG_TC,
    FORMERR,
    HEADER,
    HEADER_LEN,
    MAX_MESSAGE,
    MIN_UDP_PAYLOAD,
    NOERROR,
    NOTIMP,
    OPCODE_MASK,
    REFUSED,
    SERVFAIL,
    TYPE_AXFR,
    TYPE_IXFR,
    TYPE_MAILA,
    TYPE_MAILB,
    Deferred,
    MalformedQuery,
    QueryInfo,
    ecs_option,
    error_response,
    opt_record,
)
from gslb.dns.query import name_key, read_question
from gslb.dns.resolve import QUESTION_POINTER, Plan, plan_for
from gslb.engine.picker import is_deterministic, random_picker
from gslb.engine.select import ClientContext, Decision, GeoLike, decide, pick, sticky_entropy
from gslb.engine.snapshot import Snapshot

__all__ = ["GeoLookup", "QueryInfo", "Responder"]

DEFAULT_PLAN_CACHE: Final = 100_000
DEFAULT_CLIENT_CACHE: Final = 65_536
DEFAULT_RESPONSE_CACHE: Final = 65_536
_NOT_ANSWERED: Final = frozenset((TYPE_AXFR, TYPE_IXFR, TYPE_MAILA, TYPE_MAILB))
_DROP: Final[tuple[None, None]] = (None, None)
# (address, its full prefix length, its location)
Located: TypeAlias = tuple[IPv4Address | IPv6Address, int, GeoLike | None]
# A dynamic response for one client: (bytes after the ID up to the picked records, a picker from
# 64 random bits to those records or None when `head` is the whole rest, what follows them, info).
ClientEntry: TypeAlias = tuple[bytes, Callable[[int], bytes] | None, bytes, QueryInfo]
# (bytes after the ID, QueryInfo, False) for static responses; (None, {client key: ClientEntry},
# whether the key is the source address) for dynamic ones; (None, Outside.hit, _OUTSIDE) for names
# the outside handler answers. One flat tuple shape: the hit path
# indexes it without isinstance checks.
CachedResponse: TypeAlias = tuple[bytes | None, Any, bool | int]


# Marks a memo entry whose answers come from the outside handler's own memo.
_OUTSIDE: Final = 2


class Outside(Protocol):
    """Takes queries for names in no hosted zone (the forwarder, gslb.dns.forward)."""

    def handle(
        self,
        packet: bytes,
        client_ip: str,
        qid: int,
        qflags: int,
        question: bytes,
        name_len: int,
        qtype: int,
        qclass: int,
        edns: Edns | None,
        opt: bytes,
        limit: int,
    ) -> tuple[bytes | Deferred, QueryInfo] | tuple[None, None]:
        """(response or a coroutine giving it, info), or (None, None) to drop."""
        ...

    def hit(self, packet: bytes, client_ip: str) -> tuple[bytes, QueryInfo] | tuple[None, None] | None:
        """A UDP answer for a query asked before with these bytes, or None to take the full path."""
        ...


class GeoLookup(Protocol):
    """What the responder needs of `geodata.lookup.GeoDatabase`."""

    def lookup(self, address: Any) -> GeoLike | None: ...


def _refuse(
    qid: int, qflags: int, rcode: int, qtype: int = 0, question: bytes = b"", opt: bytes = b""
) -> tuple[bytes, QueryInfo]:
    """An answer without data (errors, refusals) and its metrics tuple."""
    # Only the low four rcode bits fit the header; BADVERS carries the rest in `opt`.
    return error_response(qid, qflags, rcode & 0xF, question, opt), QueryInfo(None, qtype, rcode, None)


def _reowned(wire: bytes, owner: bytes) -> bytes:
    """Selected records (owned by 0xC00C) re-owned by `owner`, for answers at the end of a CNAME chain."""
    if owner == QUESTION_POINTER:
        return wire
    parts = []
    pos = 0
    end = len(wire)
    while pos < end:
        rdlength = (wire[pos + 10] << 8) | wire[pos + 11]
        stop = pos + 12 + rdlength
        parts.append(owner)
        parts.append(wire[pos + 2 : stop])
        pos = stop
    return b"".join(parts)


def _reowned_choice(choose: Callable[[int], bytes], owner: bytes, entropy: int) -> bytes:
    return _reowned(choose(entropy), owner)


class Responder:
    """Answers queries from `snapshot_source()` (called once per query: swap snapshots freely).

    `geo` locates clients for geo and nearest rules; `max_udp_payload` is what we advertise and the
    most we send over UDP with EDNS; `random_bits` gives 64 random bits for weighted selection.
    """

    __slots__ = (
        "_client_cache_size",
        "_geo",
        "_located",
        "_max_udp",
        "_opt",
        "_opt_do",
        "_outside",
        "_plan_cache_size",
        "_plans",
        "_plans_snapshot",
        "_random_bits",
        "_remembered",
        "_response_cache_size",
        "_responses",
        "_source",
    )

    def __init__(
        self,
        snapshot_source: Callable[[], Snapshot | None],
        *,
        geo: GeoLookup | None = None,
        max_udp_payload: int = 1232,
        random_bits: Callable[[], int] | None = None,
        plan_cache_size: int = DEFAULT_PLAN_CACHE,
        response_cache_size: int = DEFAULT_RESPONSE_CACHE,
        outside: Outside | None = None,
    ) -> None:
        self._source = snapshot_source
        self._geo = geo
        self._max_udp = max(MIN_UDP_PAYLOAD, min(max_udp_payload, MAX_MESSAGE))
        self._random_bits = random_bits or partial(random.Random().getrandbits, 64)
        self._opt = opt_record(self._max_udp)
        # RFC 3225 section 3: the DO bit of the query is copied into the response.
        self._opt_do = opt_record(self._max_udp, do=True)
        self._plans: dict[bytes, Plan] = {}
        self._plans_snapshot: Snapshot | None = None
        self._plan_cache_size = plan_cache_size
        self._located: dict[bytes | str, Located] = {}
        self._client_cache_size = DEFAULT_CLIENT_CACHE
        # UDP responses by the query's bytes after the ID (see `_remember`); same lifetime as plans.
        self._responses: dict[bytes, CachedResponse] = {}
        self._remembered = 0
        self._response_cache_size = response_cache_size
        # Names in no hosted zone: REFUSED, unless a forwarder takes them (gslb.dns.forward).
        self._outside = outside

    def answer(self, packet: bytes, client_ip: str, *, tcp: bool) -> bytes | Deferred | None:
        """The response to `packet` from `client_ip`, or None to send nothing."""
        return self.answer_with_info(packet, client_ip, tcp=tcp)[0]

    def answer_with_info(
        self, packet: bytes, client_ip: str, *, tcp: bool
    ) -> tuple[bytes | Deferred, QueryInfo] | tuple[None, None]:
        """(response, what to count) or (None, None) for packets to drop. Never raises."""
        snapshot = self._source()
        if snapshot is not self._plans_snapshot:
            self._forget(snapshot)
        if not tcp:
            cached = self._responses.get(packet[2:])
            if cached is not None:
                tail = cached[0]
                if tail is not None:
                    return packet[:2] + tail, cached[1]
                if cached[2] is _OUTSIDE:
                    hit = cached[1](packet, client_ip)
                    if hit is not None:
                        return hit  # type: ignore[no-any-return]
                else:
                    client = cached[1].get(client_ip if cached[2] else None)
                    if client is not None:
                        choose = client[1]
                        if choose is None:
                            return packet[:2] + client[0], client[3]
                        return packet[:2] + client[0] + choose(self._random_bits()) + client[2], client[3]
        if len(packet) < HEADER_LEN:
            return _DROP
        qid, qflags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(packet)
        if qflags & FLAG_QR:
            return _DROP  # never answer a response: that is how reflection loops start
        if qflags & OPCODE_MASK:
            return _refuse(qid, qflags, NOTIMP)
        if qdcount != 1:
            return _refuse(qid, qflags, FORMERR)
        try:
            question, name_len, qtype, qclass, pos = read_question(packet)
        except MalformedQuery:
            return _refuse(qid, qflags, FORMERR)
        edns: Edns | None = None
        if ancount or nscount or arcount:
            try:
                edns = parse_records(packet, pos, ancount, nscount, arcount)
            except MalformedQuery as exc:
                opt = self._opt if exc.opt_parsed else b""
                return _refuse(qid, qflags, FORMERR, qtype, question, opt)
        if edns is None:
            opt = b""
            limit = MAX_MESSAGE if tcp else MIN_UDP_PAYLOAD
        else:
            if edns.version:
                # RFC 6891 section 6.1.3: BADVERS, with the highest version we speak (0).
                opt = opt_record(self._max_udp, do=edns.do, ext_rcode=BADVERS >> 4)
                return _refuse(qid, qflags, BADVERS, qtype, question, opt)
            opt = self._opt_do if edns.do else self._opt
            limit = MAX_MESSAGE if tcp else min(edns.payload, self._max_udp)
            if edns.ecs is not None:
                ecs = edns.ecs
                opt = opt_record(
                    self._max_udp, do=edns.do, options=ecs_option(ecs.family, ecs.source, 0, ecs.address)
                )
        if qclass != CLASS_IN and qclass != CLASS_ANY:
            return _refuse(qid, qflags, REFUSED, qtype, question, opt)
        if qtype in _NOT_ANSWERED:
            return _refuse(qid, qflags, NOTIMP, qtype, question, opt)
        try:
            return self._respond(
                snapshot, packet, client_ip, qid, qflags, question, name_len, qtype, edns, opt, limit, tcp
            )
        except Exception:  # a bug or a failing GeoIP file must cost one answer, not the server
            return _refuse(qid, qflags, SERVFAIL, qtype, question, opt)

    def _forget(self, snapshot: Snapshot | None) -> None:
        """A new snapshot: every memoised plan and response may be stale."""
        self._plans = {}
        self._responses = {}
        self._remembered = 0
        self._plans_snapshot = snapshot

    def _plan(self, snapshot: Snapshot | None, question: bytes, name_len: int, qtype: int) -> Plan | None:
        if snapshot is None:
            return None
        plans = self._plans
        lower = question[:name_len].lower()  # ASCII-only folding is exactly DNS's (RFC 4343)
        key = lower + question[name_len : name_len + 2]
        plan = plans.get(key)
        if plan is None:
            plan = plan_for(snapshot, name_key(lower), qtype, HEADER_LEN + len(question))
            if len(plans) >= self._plan_cache_size:
                plans.clear()
            plans[key] = plan
        return plan

    def _respond(
        self,
        snapshot: Snapshot | None,
        packet: bytes,
        client_ip: str,
        qid: int,
        qflags: int,
        question: bytes,
        name_len: int,
        qtype: int,
        edns: Edns | None,
        opt: bytes,
        limit: int,
        tcp: bool,
    ) -> tuple[bytes | Deferred, QueryInfo] | tuple[None, None]:
        plan = self._plan(snapshot, question, name_len, qtype)
        if plan is None:  # no snapshot yet: not ready to answer anything
            return _refuse(qid, qflags, SERVFAIL, qtype, question, opt)
        outside = self._outside
        if outside is not None and plan.info.zone is None and plan.info.rcode == REFUSED:
            qclass = (question[name_len + 2] << 8) | question[name_len + 3]
            if not tcp:
                self._remember(packet[2:], (None, outside.hit, _OUTSIDE))
            return outside.handle(
                packet, client_ip, qid, qflags, question, name_len, qtype, qclass, edns, opt, limit
            )
        flags = plan.flags | (qflags & COPIED_FLAGS)
        answer = plan.dynamic
        if answer is None:
            response = (
                HEADER.pack(qid, flags, 1, plan.ancount, plan.nscount, plan.arcount + (1 if opt else 0))
                + question
                + plan.body
                + opt
            )
            info = plan.info
        else:
            ecs = edns.ecs if edns is not None else None
            if ecs is not None and ecs.source:
                key: bytes | str = bytes((ecs.family, ecs.source)) + ecs.address
                prefix = ecs.source
            else:
                key = client_ip
                prefix = -1
            located = self._located.get(key)
            if located is None:
                located = self._locate(key, ecs)
            address, full, geo = located
            if prefix < 0:
                # RFC 7871 section 7.1.2: an ECS source of /0 asks for an answer fit for anyone.
                prefix = 0 if ecs is not None else full
            if not plan.needs_geo:
                geo = None
            decision = decide(answer, ClientContext(address, geo, prefix))
            sticky = answer.sticky
            entropy = self._random_bits() if sticky is None else sticky_entropy(sticky, address)
            selection = pick(answer, decision, entropy)
            if ecs is not None:
                opt = opt_record(
                    self._max_udp,
                    do=edns.do if edns is not None else False,
                    options=ecs_option(ecs.family, ecs.source, selection.scope_prefix, ecs.address),
                )
            if selection.count:
                body = plan.body + _reowned(selection.answer_wire, plan.owner)
                counts = (plan.ancount + selection.count, 0)
            else:
                body = plan.body + plan.negative  # fail_closed: NODATA with the SOA
                counts = (plan.ancount, 1)
            head = HEADER.pack(qid, flags, 1, counts[0], counts[1], 1 if opt else 0)
            response = head + question + body + opt
            info = QueryInfo(plan.info.zone, qtype, NOERROR, selection.pool)
            if len(response) <= limit and not tcp:
                by_ecs = ecs is not None and ecs.source > 0
                self._remember_dynamic(
                    packet,
                    None if by_ecs else client_ip,
                    plan,
                    decision,
                    head + question,
                    opt,
                    limit,
                    response,
                    info,
                )
                return response, info
        if len(response) > limit:
            # RFC 2181 section 9 / RFC 1035 4.2.1: no partial RRsets; TC and the client retries on TCP.
            response = HEADER.pack(qid, flags | FLAG_TC, 1, 0, 0, 1 if opt else 0) + question + opt
        if not tcp and answer is None:
            self._remember(packet[2:], (response[2:], info, False))
        return response, info

    def _remember(self, key: bytes, entry: CachedResponse) -> None:
        """Keep a UDP response for queries with the same bytes after the ID.

        Everything a static response depends on is in those bytes (flags, the question as spelt,
        the OPT record with payload size, DO bit and ECS) or in the snapshot, so a byte-identical
        query gets a byte-identical response: the ID and this lookup are all it costs. The cache
        is bounded and cleared when full: a flood of distinct names costs a clear, never memory.
        """
        self._remembered += 1
        if self._remembered > self._response_cache_size:
            self._responses = {}
            self._remembered = 1
        self._responses[key] = entry

    def _remember_dynamic(
        self,
        packet: bytes,
        client_key: str | None,
        plan: Plan,
        decision: Decision,
        head_and_question: bytes,
        opt: bytes,
        limit: int,
        response: bytes,
        info: QueryInfo,
    ) -> None:
        """Keep the decision for this query and client, so the next one only picks (see `_remember`).

        Dynamic responses also depend on who asks: by the ECS subnet when the query carries one
        (then it is in the query's bytes: `client_key` None) else by the source address.
        """
        answer = plan.dynamic
        assert answer is not None
        outcome = decision.outcome
        entry: ClientEntry
        if is_deterministic(answer, outcome) or not outcome.size:
            entry = (response[2:], None, b"", info)
        else:
            picker = random_picker(answer, outcome)
            if picker is None:
                return  # sampled several of many: per-query rendezvous keys, no shortcut
            if len(head_and_question) + len(plan.body) + picker.max_len + len(opt) > limit:
                return  # some picks would need TC: leave those to the full path
            choose = picker.choose
            owner = plan.owner
            if owner != QUESTION_POINTER:
                choose = partial(_reowned_choice, choose, owner)
            entry = (head_and_question[2:] + plan.body, choose, opt, info)
        key = packet[2:]
        cached = self._responses.get(key)
        if cached is None or cached[0] is not None:
            cached = (None, {}, client_key is not None)
            self._remember(key, cached)
        self._remembered += 1
        cached[1][client_key] = entry

    def _locate(self, key: bytes | str, ecs: Ecs | None) -> Located:
        """Client address as selection wants it, its full length and its location; memoised because
        ipaddress objects and GeoIP lookups cost microseconds and clients (resolvers, ECS /24s) repeat.
        """
        if isinstance(key, str):
            parsed = ip_address(key.partition("%")[0])
            if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is not None:
                parsed = parsed.ipv4_mapped
            address: IPv4Address | IPv6Address = parsed
        else:
            assert ecs is not None
            address = IPv4Address(ecs.value) if ecs.family == 1 else IPv6Address(ecs.value)
        located = (address, address.max_prefixlen, self._geo.lookup(address) if self._geo else None)
        if len(self._located) >= self._client_cache_size:
            self._located.clear()
        self._located[key] = located
        return located
