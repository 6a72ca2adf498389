"""Forwarding for names outside the hosted zones: allow list, rate limit, cache, upstreams.

`Forwarder.handle(...)` is called by the responder on the hot path for a name in no hosted zone.
It answers synchronously whenever it can (refusal, rate limit, cache hit) and otherwise returns a
coroutine that the listener awaits off the hot path and whose result it sends:

- clients outside `allow` get REFUSED: the server is never an open resolver;
- a client prefix (/24, /56) over its token bucket is dropped (answering would help reflection);
- a fresh cache entry is answered at once (TTLs counted down); a popular entry close to expiry is
  refreshed in the background (prefetch) so it never expires under load;
- a miss is asked upstream once however many clients ask at the same time (single flight):
  stub-domain upstreams for names under their suffix, else the default upstreams, the fastest
  first, the next on timeout, SERVFAIL or REFUSED, TCP when truncated;
- when every upstream fails, an expired entry within the serve-stale window answers (RFC 8767),
  else SERVFAIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gslb.dns.edns import Edns
from gslb.dns.forward.cache import CacheEntry, CacheKey, CacheSettings, ForwardCache, parse_for_cache
from gslb.dns.forward.ratelimit import PrefixRateLimiter
from gslb.dns.forward.upstream import Upstream, UpstreamError, exchange
from gslb.dns.message import (
    FLAG_CD,
    FLAG_QR,
    FLAG_RD,
    FLAG_TC,
    HEADER,
    HEADER_LEN,
    NOERROR,
    REFUSED,
    SERVFAIL,
    MalformedQuery,
    QueryInfo,
    error_response,
    opt_record,
)
from gslb.dns.query import name_key

__all__ = ["ForwardSettings", "Forwarder", "parse_upstream"]

log = logging.getLogger(__name__)

FLAG_RA: Final = 0x0080
FORWARDED_POOL: Final = "(forwarded)"
MEMO_SIZE: Final = 65_536
PREFETCH_MIN_HITS: Final = 8  # entries asked at least this often are refreshed before they expire
PREFETCH_WINDOW: Final = 0.1  # ... in the last tenth of their lifetime
UPSTREAM_RCODES_TO_SKIP: Final = frozenset({SERVFAIL, REFUSED})
Network = IPv4Network | IPv6Network


def parse_upstream(text: str) -> Upstream:
    """'192.0.2.53', '192.0.2.53:5353', '[2001:db8::53]:53', '2001:db8::53'."""
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"{text!r}: write IPv6 upstreams as [ADDRESS]:PORT")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        if not port_text.isdigit():
            raise ValueError(f"{text!r}: the port must be a number")
        port = int(port_text)
    try:
        ip_address(host)
    except ValueError:
        raise ValueError(
            f"{text!r}: an upstream is an IP address (optionally with :PORT), not a name"
        ) from None
    if not 0 < port < 65536:
        raise ValueError(f"{text!r}: port {port} is out of range")
    return Upstream(host, port)


@dataclass(frozen=True, slots=True)
class ForwardSettings:
    upstreams: tuple[str, ...]  # ADDRESS[:PORT] texts for names under no stub domain
    stubs: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (suffix, upstreams) per stub domain
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # client networks that may use forwarding
    timeout: float = 1.0  # per upstream attempt
    rate_limit: float = 0.0  # forwarded queries per second per client prefix; 0 = unlimited
    rate_burst: float = 0.0  # bucket size; 0 = one second's worth
    max_outstanding: int = 10_000  # upstream resolutions in flight; beyond, SERVFAIL
    cache: CacheSettings = field(default_factory=CacheSettings)


class Forwarder(Collector):
    def __init__(self, settings: ForwardSettings, *, max_udp_payload: int = 1232) -> None:
        self.settings = settings
        self.default = [parse_upstream(text) for text in settings.upstreams]
        self.stubs: list[tuple[str, list[Upstream]]] = sorted(
            (
                (name_key_of(suffix), [parse_upstream(text) for text in group])
                for suffix, group in settings.stubs
            ),
            key=lambda item: -len(item[0]),
        )
        self.allow: tuple[Network, ...] = tuple(ip_network(text, strict=False) for text in settings.allow)
        self.cache = ForwardCache(settings.cache)
        self.limiter = (
            PrefixRateLimiter(settings.rate_limit, settings.rate_burst) if settings.rate_limit else None
        )
        self._allowed: dict[str, bool] = {}
        # Finished UDP responses by query bytes after the ID, each good until the next TTL tick.
        self._memo: dict[bytes, tuple[bytes, QueryInfo, float]] = {}
        self._inflight: dict[CacheKey, asyncio.Future[CacheEntry | None]] = {}
        self._background: set[asyncio.Task[object]] = set()
        self._max_udp = max_udp_payload
        self.counts = {
            "hit": 0,
            "miss": 0,
            "stale": 0,
            "joined": 0,
            "prefetch": 0,
            "refused": 0,
            "ratelimited": 0,
            "servfail": 0,
            "upstream_error": 0,
        }

    # --- the synchronous part, on the hot path ------------------------------------------------

    def hit(self, packet: bytes, client_ip: str) -> tuple[bytes, QueryInfo] | tuple[None, None] | None:
        """A query with the same bytes as one answered from the cache within the same second.

        Everything the response depends on is in those bytes, except the TTLs, which tick once a
        second: so each memo entry is good until its next tick. The allow list and the rate
        limit are applied here exactly as in `handle`; None sends the query the full way.
        """
        if self._allowed.get(client_ip) is not True:
            return None  # unknown or refused clients take the full path (which refuses them)
        memo = self._memo.get(packet[2:])
        if memo is None:
            return None
        now = time.monotonic()
        if now >= memo[2]:
            return None
        if self.limiter is not None and not self.limiter.allow(client_ip, now):
            self.counts["ratelimited"] += 1
            return None, None
        self.counts["hit"] += 1
        return packet[:2] + memo[0], memo[1]

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
    ) -> tuple[bytes | Awaitable[bytes | None], QueryInfo] | tuple[None, None]:
        if not self._is_allowed(client_ip):
            self.counts["refused"] += 1
            return error_response(qid, qflags, REFUSED, question, opt), QueryInfo(None, qtype, REFUSED, None)
        if self.limiter is not None and not self.limiter.allow(client_ip, time.monotonic()):
            self.counts["ratelimited"] += 1
            return None, None
        key = CacheKey(question[:name_len].lower(), qtype, qclass, edns is not None and edns.do)
        now = time.monotonic()
        entry = self.cache.get(key, now)
        if entry is not None:
            self.counts["hit"] += 1
            if entry.hits >= PREFETCH_MIN_HITS and not entry.prefetching:
                self._maybe_prefetch(key, entry, packet, now)
            response = self._reply(entry.wire(now), qid, qflags, question, opt, limit)
            info = QueryInfo(None, qtype, entry.rcode, FORWARDED_POOL)
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            # Good until the entry's TTLs tick (whole seconds since it was stored) or it expires.
            tick = entry.stored_at + int(now - entry.stored_at) + 1
            self._memo[packet[2:]] = (response[2:], info, min(tick, entry.expires_at()))
            return response, info
        info = QueryInfo(None, qtype, NOERROR, FORWARDED_POOL)
        return self._resolve(key, packet, qid, qflags, question, opt, limit), info

    def _is_allowed(self, client_ip: str) -> bool:
        allowed = self._allowed.get(client_ip)
        if allowed is None:
            try:
                address = ip_address(client_ip.partition("%")[0])
            except ValueError:
                address = None
            if address is not None and address.version == 6 and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            allowed = address is not None and any(address in network for network in self.allow)
            if len(self._allowed) >= 65_536:
                self._allowed.clear()
            self._allowed[client_ip] = allowed
        return allowed

    def _reply(self, wire: bytes, qid: int, qflags: int, question: bytes, opt: bytes, limit: int) -> bytes:
        """The cached response for this client: its ID, RD/CD, spelling of the question, our OPT."""
        upstream_flags = (wire[2] << 8) | wire[3]
        # Keep the opcode and rcode; AA is not ours to claim and AD not ours to vouch for.
        flags = FLAG_QR | FLAG_RA | (upstream_flags & 0x780F) | (qflags & (FLAG_RD | FLAG_CD))
        qd, an, ns, ar = HEADER.unpack_from(wire)[2:]
        body = wire[HEADER_LEN + len(question) :]
        response = HEADER.pack(qid, flags, qd, an, ns, ar + (1 if opt else 0)) + question + body + opt
        if len(response) > limit:
            return HEADER.pack(qid, flags | FLAG_TC, 1, 0, 0, 1 if opt else 0) + question + opt
        return response

    # --- the asynchronous part -----------------------------------------------------------------

    async def _resolve(
        self, key: CacheKey, packet: bytes, qid: int, qflags: int, question: bytes, opt: bytes, limit: int
    ) -> bytes | None:
        entry = await self._single_flight(key, packet)
        if entry is None:
            self.counts["servfail"] += 1
            return error_response(qid, qflags, SERVFAIL, question, opt)
        if entry is _STALE_MARK:
            stale = self.cache.get_stale(key, time.monotonic())
            if stale is None:
                self.counts["servfail"] += 1
                return error_response(qid, qflags, SERVFAIL, question, opt)
            self.counts["stale"] += 1
            wire = stale.wire(time.monotonic(), stale=True, stale_ttl=self.settings.cache.stale_answer_ttl)
            return self._reply(wire, qid, qflags, question, opt, limit)
        return self._reply(entry.wire(time.monotonic()), qid, qflags, question, opt, limit)

    async def _single_flight(self, key: CacheKey, packet: bytes) -> CacheEntry | None:
        pending = self._inflight.get(key)
        if pending is not None:
            self.counts["joined"] += 1
            return await asyncio.shield(pending)
        if len(self._inflight) >= self.settings.max_outstanding:
            return None  # shed load: SERVFAIL now rather than queue without bound
        self.counts["miss"] += 1
        future: asyncio.Future[CacheEntry | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            entry = await self._ask_upstreams(key, packet)
            future.set_result(entry)
            return entry
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: joiners see it, nobody logs "never retrieved"
            raise
        finally:
            del self._inflight[key]

    async def _ask_upstreams(self, key: CacheKey, packet: bytes) -> CacheEntry | None:
        """The fresh cache entry from the first upstream that answers usefully, or the stale mark."""
        query = _upstream_query(packet, key)
        for upstream in self._upstreams_for(key.name):
            try:
                response = await exchange(upstream, query, timeout=self.settings.timeout)
            except UpstreamError as exc:
                self.counts["upstream_error"] += 1
                log.debug("forwarding %s: %s", name_key(key.name), exc)
                continue
            rcode = response[3] & 0xF
            if rcode in UPSTREAM_RCODES_TO_SKIP:
                upstream.failed()
                self.counts["upstream_error"] += 1
                continue
            try:
                parsed = parse_for_cache(response, self.settings.cache)
            except MalformedQuery as exc:
                upstream.failed()
                log.warning(
                    "upstream %s sent an unparseable answer for %s: %s", upstream, name_key(key.name), exc
                )
                continue
            now = time.monotonic()
            entry = self.cache.put(key, parsed, now)
            if entry is None:  # not cacheable (TTL 0): answer this once from a throwaway entry
                entry = CacheEntry(parsed.template, parsed.ttl_offsets, parsed.ttls, parsed.rcode, 0, now)
            return entry
        return _STALE_MARK

    def _upstreams_for(self, name: bytes) -> list[Upstream]:
        text = name_key(name)
        for suffix, group in self.stubs:
            if text == suffix or text.endswith("." + suffix):
                return sorted(group, key=_order)
        return sorted(self.default, key=_order)

    def _maybe_prefetch(self, key: CacheKey, entry: CacheEntry, packet: bytes, now: float) -> None:
        if now < entry.expires_at() - entry.lifetime * PREFETCH_WINDOW or key in self._inflight:
            return
        entry.prefetching = True
        self.counts["prefetch"] += 1
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(self._single_flight(key, packet))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        outcomes = CounterMetricFamily(
            "gslb_dns_forward_queries", "forwarded queries by outcome", labels=("outcome",)
        )
        for outcome, value in self.counts.items():
            outcomes.add_metric((outcome,), value)
        yield outcomes
        size = GaugeMetricFamily("gslb_dns_forward_cache_entries", "entries in the forwarding cache")
        size.add_metric((), len(self.cache))
        yield size
        srtt = GaugeMetricFamily(
            "gslb_dns_forward_upstream_srtt_seconds",
            "smoothed round-trip time per upstream",
            labels=("upstream",),
        )
        for upstream in self._all_upstreams():
            srtt.add_metric((str(upstream),), upstream.srtt)
        yield srtt

    def _all_upstreams(self) -> Iterator[Upstream]:
        yield from self.default
        for _suffix, group in self.stubs:
            yield from group


# A sentinel entry meaning "no upstream answered": the caller tries serve-stale.
_STALE_MARK: Final = CacheEntry(b"", (), (), SERVFAIL, 0, 0.0)


def _order(upstream: Upstream) -> float:
    # Unmeasured upstreams first (so each gets measured), then the fastest.
    return upstream.srtt


def name_key_of(suffix: str) -> str:
    text = suffix.strip().lower()
    return text if text.endswith(".") else text + "."


def _upstream_query(packet: bytes, key: CacheKey) -> bytes:
    """The query we send: the client's question, RD set, our OPT (DO as asked), nothing else."""
    question_end = HEADER_LEN + len(key.name) + 4
    flags = FLAG_RD
    opt = opt_record(1232, do=key.do)
    return HEADER.pack(0, flags, 1, 0, 0, 1) + packet[HEADER_LEN:question_end] + opt


ForwardHandler = Callable[..., tuple[bytes | Awaitable[bytes | None], QueryInfo] | tuple[None, None]]
