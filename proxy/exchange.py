"""One request/response exchange through the proxy: pick a member, send, stream back, retry.

The request body streams to the upstream as it arrives (buffered only while a connection is being
made, and kept for a retry only while it is small); the response streams back to the client as it
arrives. Flow control couples the two sockets both ways (see ClientConnection.block_reading).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from proxy.headers import (
    IDEMPOTENT,
    PLAIN_CONNECTION,
    REASONS,
    RESPONSE_DROP,
    connection_tokens,
    serialize,
    trailer_block,
)
from proxy.quick import QuickResponse
from proxy.table import Route
from proxy.upstream import Member, Pool
from proxy.upstream_conn import UpstreamConnection

if TYPE_CHECKING:
    from proxy.http1 import ClientConnection

log = logging.getLogger(__name__)

# Phases, for timeouts and for deciding what a failure means.
CONNECTING, WAITING, STREAMING, DONE = 0, 1, 2, 3

FRAMING_NONE, FRAMING_LENGTH, FRAMING_CHUNKED = 0, 1, 2


def local_response(
    status: int, text: str, *, close: bool, extra: list[tuple[bytes, bytes]] | None = None
) -> bytes:
    body = text.encode() + b"\n"
    head = b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n" % (
        status,
        REASONS.get(status, b"Error"),
        len(body),
    )
    if extra:
        head += serialize(extra)
    if close:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body


class LocalExchange:
    """A response the proxy writes itself (errors, redirects), queued in order like any other."""

    __slots__ = ("client", "close", "data", "request_complete", "status")

    def __init__(self, client: ClientConnection, status: int, data: bytes, *, close: bool) -> None:
        self.client = client
        self.status = status
        self.data = data
        self.close = close
        self.request_complete = True

    def start(self) -> None:
        self.client.transport.write(self.data)
        self.client.exchange_done(self, keep_alive=not self.close)

    def request_body(self, data: bytes) -> None:
        pass  # a refused request's body is read and dropped

    def request_end(self) -> None:
        self.request_complete = True

    def check(self, now: float) -> None:
        pass

    def abort(self) -> None:
        pass


class Exchange:
    __slots__ = (
        "attempts",
        "body_sent",
        "chunked_out",
        "client",
        "client_keep_alive",
        "conn",
        "connect_task",
        "deadline",
        "hash_key",
        "head",
        "head_method",
        "host",
        "http10",
        "idempotent",
        "member",
        "member_index",
        "method",
        "out",
        "pending",
        "phase",
        "pool",
        "quick_ok",
        "replay",
        "request_complete",
        "request_framing",
        "response_close_delimited",
        "response_started",
        "route",
        "set_cookie",
        "started",
        "status",
        "trailers",
        "tried",
        "upgrade",
        "url",
        "waiting",
    )

    def __init__(
        self,
        client: ClientConnection,
        route: Route,
        pool: Pool,
        method: bytes,
        head: bytes,
        request_framing: int,
        client_keep_alive: bool,
        http10: bool,
        hash_key: bytes | None,
        sticky_index: int | None,
        upgrade: bool,
        now: float,
        /,
    ) -> None:
        self.client = client
        self.route = route
        self.pool = pool
        self.method = method
        self.head_method = method == b"HEAD"
        self.idempotent = method in IDEMPOTENT
        self.head = head
        self.request_framing = request_framing
        self.client_keep_alive = client_keep_alive
        self.http10 = http10
        self.hash_key = hash_key
        self.member_index = sticky_index
        self.set_cookie = False
        self.upgrade = upgrade
        self.started = now
        self.deadline = 0.0
        self.phase = CONNECTING
        self.attempts = 0
        self.tried: tuple[int, ...] = ()  # members tried (a tuple: usually one, rarely more)
        self.conn: UpstreamConnection | None = None
        self.member: Member | None = None
        self.connect_task: asyncio.Task[Any] | None = None
        self.pending: list[bytes] = []  # request bytes waiting for a connection
        self.replay: list[bytes] | None = [] if self.idempotent else None  # body kept for a retry
        self.body_sent = 0
        self.request_complete = request_framing == FRAMING_NONE
        self.response_started = False
        self.response_close_delimited = False
        self.chunked_out = False
        self.out: list[bytes] = []
        self.status = 0
        self.waiting = False
        self.trailers: list[tuple[bytes, bytes]] | None = None  # the request's trailer fields, if any
        self.host = b""  # for the access log
        self.url = b""
        # Whether a plain response may take the quick path (proxy.quick): nothing to rewrite in it.
        self.quick_ok = not (
            self.head_method or upgrade or http10 or route.has_response_rules or pool.spec.sticky_cookie
        )

    # --- request side (called by the client connection) -----------------------------------------

    def start(self) -> None:
        pool = self.pool
        now = self.client.ctx.loop.time()
        if pool.retry_budget is not None:
            pool.retry_budget.record_request(now)
        self._attempt(now)

    def request_body(self, data: bytes) -> None:
        if self.request_framing == FRAMING_CHUNKED:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        self._send(data)

    def request_end(self) -> None:
        self.request_complete = True
        if self.request_framing == FRAMING_CHUNKED:
            self._send(trailer_block(self.trailers) if self.trailers else b"0\r\n\r\n")
        if self.phase == WAITING:  # the request timeout counts from the end of the request
            self.deadline = self.client.ctx.loop.time() + self.route.spec.timeouts.request

    def _send(self, data: bytes) -> None:
        self.body_sent += len(data)
        replay = self.replay
        if replay is not None:
            if self.body_sent > self.client.ctx.settings.replay_bytes:
                self.replay = None  # too large to keep: this request can no longer be retried
            else:
                replay.append(data)
        conn = self.conn
        if conn is not None and self.phase != CONNECTING:
            conn.write(data)
            if self.phase == WAITING:  # a body still arriving: only its pauses count (idle timeout)
                self.deadline = self.client.ctx.loop.time() + self.route.spec.timeouts.idle
        else:
            self.pending.append(data)
            if len(self.pending) > 16:
                self.client.block_reading(4)

    # --- choosing and connecting ----------------------------------------------------------------

    def _attempt(self, now: float) -> None:
        pool = self.pool
        index = self.member_index
        if index is not None:
            self.member_index = None
            member = pool.members[index]
            limit = pool.spec.max_connections
            if not (
                member.config.healthy and member.outlier.ejected_until <= now and member.connections < limit
            ):
                index = None
        if index is None:
            index = pool.pick(now, self.hash_key, self.tried)
            if pool.spec.sticky_cookie is not None and index is not None:
                self.set_cookie = True
        if index is None:
            if not self.tried and len(pool.pending) < pool.spec.max_pending and self._any_alive(now):
                # Every usable member is at its connection limit: wait for one to free up.
                self.waiting = True
                self.phase = CONNECTING
                self.deadline = now + self.route.spec.timeouts.connect
                pool.pending.append(self)
                return
            self._fail(503, "no upstream member available (all down, ejected or at their limits)")
            return
        self.tried = (*self.tried, index)
        self.attempts += 1
        member = pool.members[index]
        self.member = member
        member.active += 1
        conn = member.take_idle()
        self.phase = CONNECTING
        if conn is not None:
            self._attach(conn, now)
            return
        member.connecting += 1
        self.deadline = now + self.route.spec.timeouts.connect
        self.connect_task = asyncio.ensure_future(self._connect(member))

    def _any_alive(self, now: float) -> bool:
        return any(
            member.config.healthy and member.outlier.ejected_until <= now for member in self.pool.members
        ) or not any(member.config.healthy for member in self.pool.members)

    def wake(self) -> None:
        """A connection slot of the pool freed up: try again (called for pending exchanges)."""
        self.waiting = False
        if self.phase != DONE:
            self._attempt(self.client.ctx.loop.time())

    async def _connect(self, member: Member) -> None:
        loop = self.client.ctx.loop
        try:
            if self.pool.spec.tls:
                _transport, conn = await loop.create_connection(
                    lambda: UpstreamConnection(member),
                    member.address,
                    member.port,
                    ssl=self.client.ctx.upstream_tls_context(),
                    server_hostname=member.address,
                    ssl_handshake_timeout=self.route.spec.timeouts.connect,
                )
            else:
                _transport, conn = await loop.create_connection(
                    lambda: UpstreamConnection(member), member.address, member.port
                )
        except asyncio.CancelledError:
            member.connecting -= 1
            raise
        except (OSError, ssl.SSLError) as exc:  # SSLError (a failed handshake) is an OSError too
            member.connecting -= 1
            self.connect_task = None
            if self.phase == DONE:
                return
            self._upstream_failed(f"connect: {getattr(exc, 'strerror', None) or exc}", connect=True)
            return
        except Exception as exc:  # never leave a client waiting on a task that died
            member.connecting -= 1
            self.connect_task = None
            log.exception("connecting to %s failed unexpectedly", member.key)
            if self.phase != DONE:
                self._upstream_failed(f"connect: {exc!r}", connect=True)
            return
        member.connecting -= 1
        self.connect_task = None
        if self.phase == DONE:
            conn.close()
            return
        self._attach(conn, loop.time())

    def _attach(self, conn: UpstreamConnection, now: float) -> None:
        member = conn.member
        member.busy += 1
        conn.exchange = self
        conn.received = False
        self.conn = conn
        self.phase = WAITING
        timeouts = self.route.spec.timeouts
        self.deadline = now + (timeouts.request if self.request_complete else timeouts.idle)
        pending = self.pending
        if self.attempts > 1 and self.replay is not None:
            pending = self.replay  # a retry resends everything sent so far
            self.pending = []
        if pending:
            conn.write(self.head + b"".join(pending))
            if not self.attempts > 1:
                self.pending = []
            self.client.unblock_reading(4)
        else:
            conn.write(self.head)

    # --- response side (called by the upstream connection) --------------------------------------

    def on_response_head(
        self, conn: UpstreamConnection, status: int, headers: list[tuple[bytes, bytes]]
    ) -> None:
        if status < 200 and status != 101:
            return  # 1xx interim answers (we answered Expect ourselves): the final answer follows
        route = self.route
        pool = self.pool
        ctx = self.client.ctx
        now = ctx.loop.time()
        member = self.member
        assert member is not None
        outlier = member.outlier
        if status >= 500 or outlier.consecutive_5xx or outlier.consecutive_errors:
            ctx.upstreams.record_result(pool, member, now, status=status, error=None)
        if status in route.spec.retries.on_status and self._may_retry(now, connect=False):
            self._release(conn, reuse=False)
            self._retry(now)
            return
        self.status = status
        self.phase = STREAMING
        self.deadline = now + route.spec.timeouts.idle
        self.response_started = True
        keep_alive = self.client_keep_alive and self.request_complete
        content_length = None
        lines = []  # the forwarded header lines
        chunked_in = False
        tokens = None
        for name, value in headers:
            lower = name.lower()
            if lower in RESPONSE_DROP:
                if lower == b"content-length":
                    content_length = value
                elif lower == b"transfer-encoding":
                    chunked_in = True
                elif lower == b"connection" and value not in PLAIN_CONNECTION:
                    tokens = [*tokens, value] if tokens else [value]
                continue
            lines.append(name + b": " + value + b"\r\n")
        if tokens or route.has_response_rules:
            kept = [(name, value) for name, value in headers if name.lower() not in RESPONSE_DROP]
            if tokens:
                named = connection_tokens(tokens) - RESPONSE_DROP
                if named:  # headers the upstream declared hop-by-hop are not forwarded either
                    kept = [item for item in kept if item[0].lower() not in named]
            if route.has_response_rules:
                kept = route.response_headers.apply(kept)
            lines = [name + b": " + value + b"\r\n" for name, value in kept]
        if self.set_cookie and pool.spec.sticky_cookie is not None and self.member is not None:
            index = pool.members.index(self.member)
            cookie = pool.spec.sticky_cookie.encode()
            lines.append(b"Set-Cookie: %s=%s; Path=/; HttpOnly\r\n" % (cookie, pool.cookie_of(index)))
        framing = b""
        if status == 101:
            framing = b"Connection: Upgrade\r\n" + b"".join(
                b"Upgrade: " + value + b"\r\n" for name, value in headers if name.lower() == b"upgrade"
            )
        elif self.head_method or status == 304:
            if content_length is not None:
                framing = b"Content-Length: " + content_length + b"\r\n"
        elif status == 204:
            pass
        elif content_length is not None and not chunked_in:
            framing = b"Content-Length: " + content_length + b"\r\n"
        elif self.http10:
            self.response_close_delimited = True
            keep_alive = False
        else:
            self.chunked_out = True
            framing = b"Transfer-Encoding: chunked\r\n"
            self.response_close_delimited = not chunked_in
        if not keep_alive and status != 101:
            framing += b"Connection: close\r\n"
            self.client_keep_alive = False
        elif self.http10:
            framing += b"Connection: keep-alive\r\n"
        self.out.append(
            b"HTTP/1.1 %d %s\r\n%b%b\r\n"
            % (status, REASONS.get(status, b"Unknown"), b"".join(lines), framing)
        )
        if self.head_method:
            # The parser cannot know a HEAD response has no body: end it here, with a fresh parser.
            upstream_keep_alive = conn.parser.should_keep_alive()
            conn.reset_parser()
            self.on_response_end(conn, keep_alive=upstream_keep_alive)

    def take_quick(self, conn: UpstreamConnection, quick: QuickResponse) -> bool:
        """A whole plain response (proxy.quick): forwarded as one write, unless this exchange needs
        the full path for it (a status to retry on, a client connection to close)."""
        status = quick.status
        route = self.route
        if (
            self.phase != WAITING
            or not (self.client_keep_alive and self.request_complete)
            or status in route.spec.retries.on_status
        ):
            return False
        ctx = self.client.ctx
        member = self.member
        assert member is not None
        outlier = member.outlier
        if status >= 500 or outlier.consecutive_5xx or outlier.consecutive_errors:
            ctx.upstreams.record_result(self.pool, member, ctx.loop.time(), status=status, error=None)
        self.status = status
        self.phase = STREAMING
        self.response_started = True
        self.client.transport.write(quick.message)
        self._release(conn, reuse=True)
        self._finish()
        return True

    def on_response_body(self, data: bytes) -> None:
        if self.phase != STREAMING:
            return  # a discarded answer (being retried)
        if self.chunked_out:
            self.out.append(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self.out.append(data)
        if len(self.out) > 64:
            self.flush()

    def flush(self) -> None:
        out = self.out
        if out:
            self.client.transport.write(b"".join(out) if len(out) > 1 else out[0])
            out.clear()
            if self.phase == STREAMING:
                self.deadline = self.client.ctx.loop.time() + self.route.spec.timeouts.idle

    def on_response_end(
        self, conn: UpstreamConnection, keep_alive: bool, trailers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        if self.phase == DONE:
            return
        if self.chunked_out:
            # Trailers reach a client that gets the body chunked; one that reads to the close
            # (HTTP/1.0) cannot be given any.
            self.out.append(trailer_block(trailers) if trailers else b"0\r\n\r\n")
        self.flush()
        self._release(conn, reuse=keep_alive and self.request_complete)
        self._finish()

    def on_upgraded(self, conn: UpstreamConnection, rest: bytes) -> None:
        """101 Switching Protocols: from now on both sockets are joined byte for byte."""
        self.flush()
        client = self.client
        member = conn.member
        conn.exchange = None
        member.busy -= 1
        member.active -= 1
        self.phase = DONE
        self.conn = None
        client.start_tunnel(conn, rest, b"".join(self.pending), self.route.spec.timeouts.tunnel_idle)
        self.pending = []
        self.client.ctx.metrics.request_done(self, self.client.ctx.loop.time())

    # --- failures -----------------------------------------------------------------------------

    def on_upstream_error(self, conn: UpstreamConnection, reason: str) -> None:
        if self.phase != DONE:
            self.conn = None
            self._release(conn, reuse=False)
            self._fail(502, f"upstream answered {reason}") if not self.response_started else self._abort()

    def on_upstream_lost(self, conn: UpstreamConnection, exc: Exception | None) -> None:
        if self.phase == DONE or conn is not self.conn:
            return
        member = conn.member
        member.busy -= 1
        member.active -= 1
        self.conn = None
        if self.response_started:
            if self.response_close_delimited:
                if self.chunked_out:
                    self.out.append(b"0\r\n\r\n")
                self.flush()
                self._finish()
            else:
                self._abort()  # truncated: the client must see the connection end, not a short body
            self._wake_pending()
            return
        self._upstream_failed(
            "connection closed before the response" if exc is None else str(exc), connect=False
        )
        self._wake_pending()

    def _upstream_failed(self, reason: str, *, connect: bool) -> None:
        now = self.client.ctx.loop.time()
        member = self.member
        if member is not None:
            if connect:
                member.active -= 1
            self.client.ctx.upstreams.record_result(self.pool, member, now, status=0, error=reason)
        if self._may_retry(now, connect=connect):
            self._retry(now)
        else:
            self._fail(502, f"upstream failed: {reason}")

    def _may_retry(self, now: float, *, connect: bool) -> bool:
        spec = self.route.spec.retries
        if self.attempts > spec.attempts or self.response_started or self.upgrade:
            return False
        # Safe to resend: nothing reached the upstream, or an idempotent request we still hold whole.
        if not connect and not (self.idempotent and self.replay is not None):
            return False
        budget = self.pool.retry_budget
        if budget is None:
            from proxy.limits import RetryBudget

            budget = self.pool.retry_budget = RetryBudget(spec.budget_percent, spec.min_per_second)
            budget.record_request(now)
        return budget.try_retry(now)

    def _retry(self, now: float) -> None:
        self.client.ctx.metrics.retries += 1
        self.member = None
        self._attempt(now)

    def _release(self, conn: UpstreamConnection, *, reuse: bool) -> None:
        if conn is not self.conn:
            return
        self.conn = None
        member = conn.member
        member.busy -= 1
        member.active -= 1
        conn.exchange = None
        if not (
            reuse
            and conn.usable()
            and member.put_idle(conn, self.pool.spec.keepalive, self.client.ctx.loop.time())
        ):
            conn.close()
        if self.pool.pending:
            self._wake_pending()

    def _wake_pending(self) -> None:
        pending = self.pool.pending
        if pending:
            pending.popleft().wake()

    def _fail(self, status: int, reason: str) -> None:
        self.status = status
        if self.connect_task is not None:
            self.connect_task.cancel()
            self.connect_task = None
        keep = self.client_keep_alive and self.request_complete
        self.client.transport.write(local_response(status, reason, close=not keep))
        self.client_keep_alive = keep
        self._finish()

    def _abort(self) -> None:
        self.client_keep_alive = False
        self.phase = DONE
        self.client.ctx.metrics.request_done(self, self.client.ctx.loop.time())
        self.client.abort()

    def _finish(self) -> None:
        self.phase = DONE
        ctx = self.client.ctx
        ctx.metrics.request_done(self, ctx.loop.time())
        self.client.exchange_done(self, keep_alive=self.client_keep_alive)

    def abort(self) -> None:
        """The client went away: stop everything this exchange holds."""
        if self.phase == DONE:
            return
        self.phase = DONE
        if self.waiting:
            with contextlib.suppress(ValueError):
                self.pool.pending.remove(self)
        if self.connect_task is not None:
            self.connect_task.cancel()
            self.connect_task = None
        if self._drop_conn():
            self._wake_pending()

    def _drop_conn(self) -> bool:
        """Close the upstream connection in use, if any, and give back its member's counts."""
        conn = self.conn
        if conn is None:
            return False
        self.conn = None
        conn.exchange = None
        conn.member.busy -= 1
        conn.member.active -= 1
        conn.close()
        return True

    def check(self, now: float) -> None:
        """Timeouts, from the periodic sweep."""
        if self.phase == DONE or now < self.deadline:
            return
        if self.phase == CONNECTING:
            if self.waiting:
                with contextlib.suppress(ValueError):
                    self.pool.pending.remove(self)
                self.waiting = False
                self._fail(503, "no upstream connection became free in time (circuit breaker)")
                return
            if self.connect_task is not None:
                self.connect_task.cancel()  # the task itself gives back its `connecting` count
                self.connect_task = None
            self._upstream_failed("connect timeout", connect=True)
        elif self.phase == WAITING:
            if self._drop_conn():
                self._wake_pending()
            if self.member is not None:
                self.client.ctx.upstreams.record_result(
                    self.pool, self.member, now, status=0, error="timeout"
                )
            self._fail(504, "upstream did not answer in time")
        else:
            self._drop_conn()
            self._abort()


Callback = Callable[[], None]
