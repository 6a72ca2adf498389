"""The client side of the proxy: one asyncio protocol per downstream HTTP/1.1 connection.

Requests are parsed with httptools (llhttp). Each request becomes an exchange; pipelined requests
queue behind the one in flight and are answered in order. Bad input is refused before anything
reaches an upstream: malformed lines and headers (400), oversized heads (431, 414 for the URL),
ambiguous framing that could smuggle a request (400: Content-Length with Transfer-Encoding,
conflicting lengths, a transfer coding other than chunked), bodies over the route's limit (413),
heads that do not arrive in time (408). Each of these closes the connection, since the parser's
position in the byte stream can no longer be trusted; other clients are not affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

import httptools

from proxy.exchange import (
    FRAMING_CHUNKED,
    FRAMING_LENGTH,
    FRAMING_NONE,
    Exchange,
    LocalExchange,
    local_response,
)
from proxy.headers import REQUEST_DROP, connection_tokens, forwarding_block
from proxy.quick import REMEMBER_MAX, QuickRequests

if TYPE_CHECKING:
    from proxy.server import ProxyContext
    from proxy.table import RouteTable

log = logging.getLogger(__name__)

# Reasons to stop reading from the client (a bit each): a response in flight, the upstream's
# send buffer full, request bytes piling up while a connection is being made.
BLOCK_AWAITING, BLOCK_UPSTREAM_FULL, BLOCK_CONNECTING = 1, 2, 4
LINGER = 2.0  # seconds a refused client may keep sending before its connection is dropped


_HOST, _LENGTH, _ENCODING, _CONNECTION, _XFF, _FORWARDED, _COOKIE, _UPGRADE, _EXPECT, _DROP = range(10)
# Request headers that need a look (lower-case name -> kind); all others are forwarded untouched.
_SPECIAL = {
    b"host": _HOST,
    b"content-length": _LENGTH,
    b"transfer-encoding": _ENCODING,
    b"connection": _CONNECTION,
    b"x-forwarded-for": _XFF,
    b"forwarded": _FORWARDED,
    b"cookie": _COOKIE,
    b"upgrade": _UPGRADE,
    b"expect": _EXPECT,
    b"x-forwarded-proto": _DROP,
    b"x-forwarded-host": _DROP,
    **{
        name: _DROP
        for name in REQUEST_DROP
        if name not in (b"content-length", b"transfer-encoding", b"connection", b"upgrade", b"expect")
    },
}


class Refuse(Exception):
    """Raised inside a parser callback to stop parsing and answer `status`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ClientConnection(asyncio.Protocol):
    __slots__ = (
        "_active",
        "_blocked",
        "_body_limit",
        "_body_seen",
        "_closing",
        "_current",
        "_eof",
        "_forwarding",
        "_head_raw",
        "_head_size",
        "_headers",
        "_hostname",
        "_in_head",
        "_lingering",
        "_memo",
        "_queue",
        "_url",
        "ctx",
        "deadline",
        "parser",
        "peer",
        "quick",
        "scheme",
        "transport",
        "tunnel",
        "tunnel_idle",
        "tunnel_traffic",
    )

    def __init__(self, ctx: ProxyContext, scheme: bytes = b"http") -> None:
        self.ctx = ctx
        self.scheme = scheme
        self.transport: Any = None
        self.parser = httptools.HttpRequestParser(self)
        settings = ctx.settings
        self.quick = QuickRequests(
            max_target=settings.max_url_bytes,
            max_fields=settings.max_headers,
            max_head=settings.max_header_bytes,
        )
        self.peer = ""
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        self._head_raw = 0
        self._in_head = False
        self._current: Any = None  # the exchange whose request is being read
        self._active: Any = None  # the exchange whose response is being written
        self._queue: deque[Any] = deque()
        self._blocked = 0
        self._closing = False
        self._lingering = False
        self._eof = False
        self._forwarding: tuple[bytes, bytes] | None = None
        self._hostname: tuple[bytes, str] | None = None
        self._body_limit = 0
        self._body_seen = 0
        self.deadline = 0.0
        self.tunnel: Any = None
        self.tunnel_idle = 0.0  # the route's timeouts.tunnel_idle, once upgraded
        self.tunnel_traffic = False  # a byte passed either way since the last sweep
        # The last quick request's bytes, the route table it was decided under, and the decision.
        self._memo: tuple[bytes, RouteTable, tuple[Any, ...]] | None = None

    # --- asyncio.Protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if isinstance(peer, tuple) else "unix"
        ctx = self.ctx
        ctx.connections.add(self)
        ctx.metrics.connections_opened += 1
        self.deadline = ctx.loop.time() + ctx.settings.header_timeout
        if len(ctx.connections) > ctx.settings.max_client_connections:
            transport.close()

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel_traffic = True
            self.tunnel.write(data)
            return
        if self._closing:
            return  # refused: whatever follows is not parsed
        # Between requests, with none in flight, the parser is at a message boundary: a whole plain
        # request may skip it.
        if self._active is None and self._current is None and not self._in_head and self._quick(data):
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            offset = upgrade.args[0] if upgrade.args else len(data)
            current = self._current
            if isinstance(current, Exchange) and current.upgrade:
                self._closing = True  # no more HTTP on this connection; bytes go to the tunnel
                current.pending.append(data[offset:]) if data[offset:] else None
            else:
                self._refuse(400, "upgrade refused")
            return
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, Refuse):
                self._refuse(cause.status, cause.reason)
            else:
                log.exception("request handling failed", exc_info=cause)
                self._refuse(500, "internal error")
            return
        except httptools.HttpParserError as exc:
            self._refuse(400, f"malformed request: {exc}")
            return
        if self._in_head:
            # A head still incomplete after this many bytes (one endless header, say) is refused
            # now: httptools would otherwise keep accumulating it.
            self._head_raw += len(data)
            if self._head_raw > self.ctx.settings.max_header_bytes:
                self._refuse(431, "request head too large")

    def connection_lost(self, exc: Exception | None) -> None:
        ctx = self.ctx
        ctx.connections.discard(self)
        ctx.metrics.connections_closed += 1
        if self.tunnel is not None:
            tunnel, self.tunnel = self.tunnel, None
            tunnel.close()
        for exchange in (self._active, self._current, *self._queue):
            if exchange is not None:
                exchange.abort()
        self._queue.clear()
        self._active = self._current = None

    def pause_writing(self) -> None:
        # The client reads slower than the upstream sends: stop reading the upstream.
        conn = self.tunnel or (self._active.conn if isinstance(self._active, Exchange) else None)
        if conn is not None and conn.transport is not None:
            conn.transport.pause_reading()

    def resume_writing(self) -> None:
        conn = self.tunnel or (self._active.conn if isinstance(self._active, Exchange) else None)
        if conn is not None and conn.transport is not None:
            conn.transport.resume_reading()

    # --- httptools callbacks --------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._in_head = True
        self._head_size = 0
        self._head_raw = 0
        self.deadline = self.ctx.loop.time() + self.ctx.settings.header_timeout

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self.ctx.settings.max_url_bytes:
            raise Refuse(414, "request target too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:
            self._trailer(name, value)
            return
        headers = self._headers
        headers.append((name, value))
        self._head_size += len(name) + len(value) + 4
        if len(headers) > self.ctx.settings.max_headers:
            raise Refuse(431, "too many header fields")
        if self._head_size > self.ctx.settings.max_header_bytes:
            raise Refuse(431, "request head too large")

    def _trailer(self, name: bytes, value: bytes) -> None:
        """A trailer field after a chunked body: passed on with the last chunk, bounded as the head
        is (the head and trailers together within max_header_bytes)."""
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.ctx.settings.max_header_bytes:
            raise Refuse(431, "request head and trailers too large")
        current = self._current
        if isinstance(current, Exchange):
            trailers = current.trailers
            if trailers is None:
                trailers = current.trailers = []
            elif len(trailers) >= self.ctx.settings.max_headers:
                raise Refuse(431, "too many trailer fields")
            trailers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        exchange = self._request()
        self._current = exchange
        if self._active is None:
            self._active = exchange
            exchange.start()
        else:
            # Pipelined behind a request in flight: answered in order; stop reading meanwhile.
            self._queue.append(exchange)
            self.block_reading(BLOCK_AWAITING)
            if len(self._queue) > self.ctx.settings.max_pipeline:
                raise Refuse(400, "too many pipelined requests")

    def on_body(self, body: bytes) -> None:
        current = self._current
        self._body_seen += len(body)
        if self._body_seen > self._body_limit:
            raise Refuse(413, "request body larger than allowed")
        if current is not None:
            current.request_body(body)

    def on_message_complete(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            current.request_end()

    # --- turning a parsed head into an exchange ---------------------------------------------------

    def _request(self) -> Any:
        ctx = self.ctx
        parser = self.parser
        method = parser.get_method()
        http10 = parser.get_http_version() == "1.0"
        keep_alive = parser.should_keep_alive()
        host = b""
        hosts = 0
        lengths: list[bytes] | None = None
        encodings: list[bytes] | None = None
        conn_values: list[bytes] | None = None
        xff = forwarded = cookie = None
        upgrade_value = None
        expect = False
        lines = []  # the header lines forwarded as they came (ordinary end-to-end headers)
        special = _SPECIAL
        for name, value in self._headers:
            kind = special.get(name.lower())
            if kind is None:
                lines.append(name + b": " + value + b"\r\n")
            elif kind == _HOST:
                host = value
                hosts += 1
                lines.append(name + b": " + value + b"\r\n")
            elif kind == _LENGTH:
                lengths = [*lengths, value] if lengths else [value]
            elif kind == _ENCODING:
                encodings = [*encodings, value] if encodings else [value]
            elif kind == _CONNECTION:
                conn_values = [*conn_values, value] if conn_values else [value]
            elif kind == _XFF:
                xff = value if xff is None else xff + b", " + value
            elif kind == _FORWARDED:
                forwarded = value if forwarded is None else forwarded + b", " + value
            elif kind == _COOKIE:
                cookie = value if cookie is None else cookie + b"; " + value
                lines.append(name + b": " + value + b"\r\n")
            elif kind == _UPGRADE:
                upgrade_value = value
            elif kind == _EXPECT:
                if value.lower() != b"100-continue":
                    raise Refuse(417, "unsupported Expect")
                expect = True
            # other hop-by-hop headers and X-Forwarded-Proto/-Host: dropped (we write our own)
        # Framing: exactly one way to find the end of the body, or the request is refused.
        framing = FRAMING_NONE
        length = 0
        if encodings:
            if lengths:
                raise Refuse(400, "both Content-Length and Transfer-Encoding (request smuggling)")
            codings = [c.strip().lower() for v in encodings for c in v.split(b",") if c.strip()]
            if codings != [b"chunked"]:
                raise Refuse(
                    501 if codings and codings[-1] == b"chunked" else 400, "unsupported transfer coding"
                )
            framing = FRAMING_CHUNKED
        elif lengths:
            values = {v.strip() for v in lengths}
            if len(values) != 1 or not all(v.isdigit() for v in values):
                raise Refuse(400, "conflicting or invalid Content-Length")
            length = int(values.pop())
            framing = FRAMING_LENGTH if length else FRAMING_NONE
        if hosts > 1:
            raise Refuse(400, "more than one Host header")
        url = self._url
        absolute = False
        if url[:1] != b"/":
            if url == b"*" and method == b"OPTIONS":
                pass
            elif url[:7].lower() == b"http://" or url[:8].lower() == b"https://":
                # Absolute form (RFC 9112 3.2.2): the target's authority replaces the Host header.
                parsed = httptools.parse_url(url)
                host = parsed.host + (b":%d" % parsed.port if parsed.port else b"")
                url = (parsed.path or b"/") + (b"?" + parsed.query if parsed.query else b"")
                absolute = True
            else:
                raise Refuse(400, "invalid request target")
        if not host and not http10:
            raise Refuse(400, "missing Host header")
        hostname = self._routing_name(host)
        query_at = url.find(b"?")
        path = url if query_at < 0 else url[:query_at]
        try:
            path_text = path.decode("ascii")
        except UnicodeDecodeError:
            raise Refuse(400, "non-ASCII request target") from None
        route = ctx.table.match(hostname, path_text, method)
        now = ctx.loop.time()
        if route is None:
            return self._local(404, "no route for this host and path", keep_alive, framing)
        spec = route.spec
        if spec.redirect_https and self.scheme == b"http":
            location = b"https://" + host + url
            return self._local(308, "use https", keep_alive, framing, [(b"Location", location)])
        if framing == FRAMING_LENGTH and length > spec.max_body_bytes:
            raise Refuse(413, "request body larger than allowed")
        if spec.rate_limit is not None and not ctx.limiter.allow(route, self.peer, now):
            return self._local(429, "rate limit exceeded", keep_alive, framing, [(b"Retry-After", b"1")])
        upgrade = False
        tokens = connection_tokens(conn_values) if conn_values else frozenset()
        if upgrade_value is not None and b"upgrade" in tokens:
            if not spec.websocket:
                return self._local(400, "WebSocket not allowed on this route", False, framing)
            upgrade = True
        if expect:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        # The head sent upstream: our framing, our hop-by-hop choices, the forwarding headers.
        if (tokens and not tokens <= REQUEST_DROP) or route.has_request_rules or absolute:
            # The rare cases: rebuild the lines from the headers, with the extra edits.
            kept = [
                (name, value)
                for name, value in self._headers
                if (lower := name.lower()) not in tokens
                and (lower == b"host" or lower == b"cookie" or lower not in special)
            ]
            if absolute:
                kept = [item for item in kept if item[0].lower() != b"host"]
                kept.append((b"Host", host))
            if route.has_request_rules:
                kept = route.request_headers.apply(kept)
            lines = [name + b": " + value + b"\r\n" for name, value in kept]
        target = url
        if spec.rewrite_path is not None:
            target = route.rewrite(path_text).encode() + (url[query_at:] if query_at >= 0 else b"")
        if xff is None and forwarded is None:
            extra = self._forwarding_for(host)
        else:
            extra = forwarding_block(self.peer, self.scheme, host, xff, forwarded)
        if framing == FRAMING_LENGTH:
            extra += b"Content-Length: %d\r\n" % length
        elif framing == FRAMING_CHUNKED:
            extra += b"Transfer-Encoding: chunked\r\n"
        if upgrade:
            extra += b"Connection: Upgrade\r\nUpgrade: " + (upgrade_value or b"") + b"\r\n"
        head = method + b" " + target + b" HTTP/1.1\r\n" + b"".join(lines) + extra + b"\r\n"
        pool = ctx.upstreams.pools[route.pool.key]
        hash_key = sticky = None
        if pool.affinity:
            hash_key, sticky = self._affinity(pool, cookie, self._headers)
        self._body_limit = spec.max_body_bytes
        self._body_seen = 0
        exchange = Exchange(
            self,
            route,
            pool,
            method,
            head,
            framing,
            keep_alive and not upgrade,
            http10,
            hash_key,
            sticky,
            upgrade,
            now,
        )
        exchange.host = host
        exchange.url = url
        return exchange

    def _quick(self, data: bytes) -> bool:
        """A whole plain request (proxy.quick) on a plain route, sent on without the parser; False
        leaves everything as it was for the full path (nothing is counted or consumed before)."""
        ctx = self.ctx
        table = ctx.table
        memo = self._memo
        if memo is not None and memo[0] == data and memo[1] is table:
            # The same bytes as this connection's previous request, under the same routes: the
            # same parse and the same decisions (a client polling one URL sends nothing else).
            route, pool, method, head, host, url = memo[2]
        else:
            quick = self.quick.take(data)
            if quick is None:
                return False
            method, url, host, fields = quick
            query_at = url.find(b"?")
            path = url if query_at < 0 else url[:query_at]
            path_text = path.decode("ascii")  # the quick grammar admits ASCII only
            route = table.match(self._routing_name(host), path_text, method)
            if route is None:
                return False
            spec = route.spec
            if (
                (spec.redirect_https and self.scheme == b"http")
                or spec.rate_limit is not None
                or route.has_request_rules
            ):
                return False
            pool = ctx.upstreams.pools[route.pool.key]
            if pool.affinity:
                return False
            target = url
            if spec.rewrite_path is not None:
                target = route.rewrite(path_text).encode() + (url[query_at:] if query_at >= 0 else b"")
            head = method + b" " + target + b" HTTP/1.1\r\n" + fields + self._forwarding_for(host) + b"\r\n"
            if len(data) < REMEMBER_MAX:
                self._memo = (data, table, (route, pool, method, head, host, url))
        self._url = url
        exchange = Exchange(
            self, route, pool, method, head, FRAMING_NONE, True, False, None, None, False, ctx.loop.time()
        )
        exchange.host = host
        exchange.url = url
        self._active = exchange
        exchange.start()
        return True

    def forget(self) -> None:
        """Drop the remembered decision (the route table changed: it would never match again, and
        it would keep the old table alive as long as this connection idles)."""
        self._memo = None

    def _routing_name(self, host: bytes) -> str:
        known = self._hostname
        if known is not None and known[0] == host:
            return known[1]
        hostname = _hostname(host)
        self._hostname = (host, hostname)
        return hostname

    def _forwarding_for(self, host: bytes) -> bytes:
        """The forwarding fields when the client sent none: the same client and host on every
        request of a connection, so built once per connection."""
        cached = self._forwarding
        if cached is None or cached[0] != host:
            cached = self._forwarding = (host, forwarding_block(self.peer, self.scheme, host, None, None))
        return cached[1]

    def _affinity(
        self, pool: Any, cookie: bytes | None, headers: list[tuple[bytes, bytes]]
    ) -> tuple[bytes | None, int | None]:
        spec = pool.spec
        sticky = None
        if spec.sticky_cookie is not None and cookie is not None:
            value = _cookie(cookie, spec.sticky_cookie.encode())
            if value is not None:
                sticky = pool.by_cookie.get(value.decode("ascii", "replace"))
        hash_on = spec.hash_on
        if hash_on is None:
            return None, sticky
        if hash_on == "client_address":
            return self.peer.encode(), sticky
        kind, _, name = hash_on.partition(":")
        if kind == "header":
            wanted = name.lower().encode()
            for header, value in headers:
                if header.lower() == wanted:
                    return value, sticky
            return None, sticky
        return (_cookie(cookie, name.encode()) if cookie is not None else None), sticky

    def _local(
        self,
        status: int,
        text: str,
        keep_alive: bool,
        framing: int,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> LocalExchange:
        self._body_limit = 1 << 20  # a refused request's body is read and dropped, up to a point
        self._body_seen = 0
        close = not keep_alive or (framing == FRAMING_CHUNKED)
        parser = self.parser
        host = next((value for name, value in self._headers if name.lower() == b"host"), b"")
        self.ctx.metrics.local_done(status, self.peer, parser.get_method(), host, self._url)
        return LocalExchange(
            self, status, local_response(status, text, close=close, extra=extra), close=close
        )

    # --- flow, completion, refusal ----------------------------------------------------------------

    def block_reading(self, reason: int) -> None:
        if not self._blocked:
            self.transport.pause_reading()
        self._blocked |= reason

    def unblock_reading(self, reason: int) -> None:
        if self._blocked & reason:
            self._blocked &= ~reason
            if not self._blocked and not self._closing and not self.transport.is_closing():
                self.transport.resume_reading()

    def exchange_done(self, exchange: Any, *, keep_alive: bool) -> None:
        if exchange is not self._active:
            return
        if not keep_alive or self._closing or self._eof:
            self._active = None
            self._queue.clear()
            if self._closing and not self._eof and self.tunnel is None and self.transport.can_write_eof():
                # Lingering close (as nginx): a client still sending would otherwise get a reset
                # that can destroy the error response before it is read. Send FIN, drop what
                # arrives, close for good once the client closes or after LINGER seconds.
                self._lingering = True
                self.deadline = self.ctx.loop.time() + LINGER
                self._blocked = 0
                self.transport.resume_reading()
                self.transport.write_eof()
            else:
                self.transport.close()
            return
        self.deadline = self.ctx.loop.time() + self.ctx.settings.keepalive_timeout
        queue = self._queue
        if queue:
            self._active = queue.popleft()
            self._active.start()
            return
        self._active = None
        if self._blocked:
            self.unblock_reading(BLOCK_AWAITING)

    def _refuse(self, status: int, reason: str) -> None:
        """Answer an error and close: after bad input the byte stream cannot be trusted."""
        self._closing = True
        self._in_head = False
        self.ctx.metrics.local_done(status, self.peer, b"-", b"", self._url[:2048])
        current, self._current = self._current, None
        if current is not None and current is not self._active:
            with contextlib.suppress(ValueError):
                self._queue.remove(current)
            current.abort()
        elif current is not None:
            # Its body turned out bad while it was being forwarded: drop the exchange and, unless
            # its answer already began, answer the error in its place.
            started = getattr(current, "response_started", False)
            current.abort()
            self._active = None
            self._queue.clear()
            if started:
                self.abort()
                return
        local = LocalExchange(self, status, local_response(status, reason, close=True), close=True)
        if self._active is None:
            self._active = local
            local.start()
        else:
            self._queue.append(local)
            self.block_reading(BLOCK_AWAITING)

    def abort(self) -> None:
        self._closing = True
        self.transport.abort() if hasattr(self.transport, "abort") else self.transport.close()

    def eof_received(self) -> bool | None:
        self._eof = True
        if self._lingering or not self.busy:
            return None  # closes
        if self.tunnel is not None:
            self.tunnel.transport.write_eof() if self.tunnel.transport.can_write_eof() else None
        return True  # half-closed after its request: the answer still goes out, then we close

    def check(self, now: float) -> None:
        """Timeouts, from the periodic sweep."""
        if self._lingering:
            if now >= self.deadline:
                self.transport.close()
            return
        active = self._active
        if active is not None:
            active.check(now)
            if self._active is None or not self._in_head:
                return
        if self.tunnel is not None:
            # Traffic is only flagged as it passes (no clock per chunk): the sweep moves the deadline.
            if self.tunnel_traffic:
                self.tunnel_traffic = False
                self.deadline = now + self.tunnel_idle
            elif now >= self.deadline:
                self._closing = True
                self.transport.close()  # silent both ways too long: its upstream side closes too
            return
        if now < self.deadline:
            return
        if self._in_head:
            self._refuse(408, "request head not received in time")
        elif self._current is not None:
            return  # a body being read belongs to an exchange that watches its own time
        elif active is None:
            self._closing = True
            self.transport.close()  # idle keep-alive connection (or one that never sent a byte)

    # --- WebSocket and other upgrades -----------------------------------------------------------

    def start_tunnel(self, upstream: Any, from_upstream: bytes, from_client: bytes, idle: float) -> None:
        self.tunnel = upstream
        upstream.tunnel = self
        self.tunnel_idle = idle
        self.tunnel_traffic = False
        self.deadline = self.ctx.loop.time() + idle
        self._active = self._current = None
        if from_upstream:
            self.transport.write(from_upstream)
        if from_client:
            upstream.write(from_client)
        self._blocked = 0
        self.transport.resume_reading()

    @property
    def busy(self) -> bool:
        """A request is in flight (drain waits for these)."""
        return self._active is not None or self._current is not None or self.tunnel is not None

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def close(self) -> None:
        self.transport.close()


def _hostname(host: bytes) -> str:
    """The routing form of a Host value: lower case, without port or trailing dot."""
    name = host.lower()
    if name.startswith(b"["):
        name = name[: name.find(b"]") + 1]
    else:
        colon = name.find(b":")
        if colon >= 0:
            name = name[:colon]
    return name.rstrip(b".").decode("ascii", "replace")


def _cookie(header: bytes, name: bytes) -> bytes | None:
    for part in header.split(b";"):
        key, sep, value = part.strip().partition(b"=")
        if sep and key == name:
            return value.strip(b'"')
    return None
