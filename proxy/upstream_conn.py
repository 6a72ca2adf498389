"""One keep-alive connection to an upstream member: parses responses and hands them to its exchange."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import httptools

from proxy.quick import QuickResponses

if TYPE_CHECKING:
    from proxy.exchange import Exchange
    from proxy.upstream import Member


class UpstreamConnection(asyncio.Protocol):
    __slots__ = (
        "_headers",
        "closed",
        "exchange",
        "idle_since",
        "member",
        "parser",
        "quick",
        "received",
        "transport",
        "tunnel",
        "upgraded",
    )

    def __init__(self, member: Member) -> None:
        self.member = member
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.quick = QuickResponses()
        self.exchange: Exchange | None = None
        self.closed = False
        self.idle_since = 0.0
        self.received = False  # any byte of the current response seen (a retry is no longer blind)
        self._headers: list[tuple[bytes, bytes]] = []
        self.tunnel: Any = None  # the client connection once upgraded (WebSocket): bytes pass raw
        self.upgraded = False

    # --- asyncio.Protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel.tunnel_traffic = True
            self.tunnel.write(data)
            return
        exchange = self.exchange
        if exchange is None:  # an idle connection must not speak: whatever it is, drop it
            self.close()
            return
        if not self.received:
            self.received = True
            # The first bytes of this response: a whole plain response skips the parser (which is
            # left untouched, at a message boundary).
            if exchange.quick_ok:
                quick = self.quick.take(data)
                if quick is not None and exchange.take_quick(self, quick):
                    return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            offset = upgrade.args[0] if upgrade.args else len(data)
            if self.exchange is not None and self.upgraded:
                self.exchange.on_upgraded(self, data[offset:])
                return
        except httptools.HttpParserError as exc:
            if self.exchange is not None:
                self.exchange.on_upstream_error(self, f"invalid response: {exc}")
            self.close()
            return
        if self.exchange is not None:
            self.exchange.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.tunnel is not None:
            tunnel, self.tunnel = self.tunnel, None
            tunnel.close()
            return
        exchange, self.exchange = self.exchange, None
        if exchange is not None:
            exchange.on_upstream_lost(self, exc)
        else:
            with contextlib.suppress(ValueError):
                self.member.idle.remove(self)

    def pause_writing(self) -> None:
        if self.tunnel is not None:
            self.tunnel.transport.pause_reading()
        elif self.exchange is not None:
            self.exchange.client.block_reading(2)

    def resume_writing(self) -> None:
        if self.tunnel is not None:
            self.tunnel.transport.resume_reading()
        elif self.exchange is not None:
            self.exchange.client.unblock_reading(2)

    # --- httptools callbacks --------------------------------------------------------------------

    # No on_message_begin / on_status: one callback fewer each per response (reason phrases are
    # our own, as HTTP/2 has none anyway); the header list is renewed once handed over.

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        exchange = self.exchange
        if exchange is not None:
            status = self.parser.get_status_code()
            if status == 101:
                self.upgraded = True
            headers, self._headers = self._headers, []
            exchange.on_response_head(self, status, headers)

    def on_body(self, body: bytes) -> None:
        if self.exchange is not None:
            self.exchange.on_response_body(body)

    def on_message_complete(self) -> None:
        exchange = self.exchange
        # Fields after the head was handed over are the trailers of a chunked body.
        trailers = self._headers
        if trailers:
            self._headers = []
        if exchange is not None and not self.upgraded:
            exchange.on_response_end(self, self.parser.should_keep_alive(), trailers)

    # --- for the pool ---------------------------------------------------------------------------

    def usable(self) -> bool:
        transport = self.transport
        return not self.closed and transport is not None and not transport.is_closing()

    def reset_parser(self) -> None:
        """A fresh parser: after a HEAD response (whose Content-Length announces no body here)."""
        self.parser = httptools.HttpResponseParser(self)

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
