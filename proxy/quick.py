"""The plainest HTTP/1.1 messages, taken whole from one buffer without a callback per field (pure).

Most proxied traffic is a bodiless request (GET, HEAD, DELETE, OPTIONS) whose head arrives whole
in one read, answered by a response whose head and Content-Length body arrive whole in one read.
For those, llhttp (httptools) still validates every byte, strictly, as on the full path, but
through a parser that calls back only at the end of the message; the few fields a proxy must act
on are then found in the lower-cased head with a handful of C-speed searches. Everything else is
declined (None) and the caller parses the same bytes with its full parser, as if this module did
not exist: a body, a partial or pipelined head, a framing or forwarding field, a hop-by-hop field
other than a plain keep-alive, bytes beyond the message. So the quick path never decides
differently from the full one, it only skips work; tests/proxy/test_proxy_quick.py holds both to
the same answers.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import httptools

from proxy.headers import REASONS

# The request fields that need a look, found by name in the lower-cased head: the Host, and a
# Connection (dropped when it says keep-alive); body framing, forwarding chains, upgrades,
# expectations and the other hop-by-hop fields send a request the full way.
_REQUEST_NAMES = re.compile(
    rb"\n(host|connection|content-length|transfer-encoding|x-forwarded-for|x-forwarded-proto|"
    rb"x-forwarded-host|forwarded|upgrade|expect|keep-alive|te|trailer|proxy-[a-z-]*):"
)
# The response fields that need a look: Content-Length, Connection and Keep-Alive (both dropped
# when plain); the other hop-by-hop fields send a response the full way.
_RESPONSE_NAMES = re.compile(
    rb"\n(content-length|connection|keep-alive|transfer-encoding|te|trailer|upgrade|proxy-[a-z-]*):"
)
_BODILESS = frozenset((b"GET", b"HEAD", b"DELETE", b"OPTIONS"))

# Our status lines (the reason phrases are ours, as on the full path).
STATUS_LINES = {status: b"HTTP/1.1 %d %s\r\n" % (status, reason) for status, reason in REASONS.items()}


class QuickRequest(NamedTuple):
    method: bytes
    target: bytes
    host: bytes  # as sent (the caller derives the routing name)
    fields: bytes  # the field lines to forward, each ending in CRLF, hop-by-hop ones removed


class QuickResponse(NamedTuple):
    status: int
    message: bytes  # the whole response as the client gets it: our status line, fields, body


class _Validator:
    """An llhttp parser that reports only where a message ends; one per connection and direction.

    After a declined buffer it is replaced, since its position in that buffer no longer matters.
    """

    __slots__ = ("complete", "parser", "request")

    def __init__(self, *, request: bool) -> None:
        self.request = request
        self.complete = False
        self.parser: httptools.HttpRequestParser | httptools.HttpResponseParser = (
            httptools.HttpRequestParser(self) if request else httptools.HttpResponseParser(self)
        )

    def on_message_complete(self) -> None:
        self.complete = True

    def whole(self, data: bytes) -> bool:
        """`data` holds one complete, valid message (and maybe more: the caller checks its end)."""
        self.complete = False
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self.reset()
            return False
        if not self.complete:
            self.reset()
            return False
        return True

    def reset(self) -> None:
        self.complete = False
        self.parser = (
            httptools.HttpRequestParser(self) if self.request else httptools.HttpResponseParser(self)
        )


def _value(data: bytes, at: int) -> bytes:
    """The value of the field line whose name ends (with its colon) just before `at`."""
    return data[at : data.find(b"\r", at)].strip(b" \t")


def _without_lines(data: bytes, start: int, cuts: list[int]) -> bytes:
    """data[start:] without the field lines that begin just after the "\n" at each of `cuts`."""
    parts = []
    for at in sorted(cuts):
        parts.append(data[start : at + 1])
        start = data.find(b"\n", at + 1) + 1
    parts.append(data[start:])
    return b"".join(parts)


class QuickRequests:
    """Bodiless requests of one client connection (call only at a message boundary)."""

    __slots__ = ("max_fields", "max_head", "max_target", "validator")

    def __init__(self, *, max_target: int, max_fields: int, max_head: int) -> None:
        self.max_target = max_target
        self.max_fields = max_fields
        self.max_head = max_head
        self.validator = _Validator(request=True)

    def take(self, data: bytes) -> QuickRequest | None:
        """`data` as exactly one whole bodiless HTTP/1.1 request with one Host, or None.

        Requests over the limits are declined too: the full parser refuses them with the status
        that says which limit.
        """
        end = len(data) - 4
        if end > self.max_head or data.find(b"\r\n\r\n") != end:
            return None  # no whole head, or more than one (pipelined), or a body
        space = data.find(b" ")
        method = data[:space]
        if method not in _BODILESS or data[space + 1] != 47:  # 47: "/", the origin form
            return None
        line_end = data.find(b"\r\n")
        if data[line_end - 9 : line_end] != b" HTTP/1.1":
            return None
        if not self.validator.whole(data):
            return None
        quick = self._read(data, method, space, line_end, end)
        if quick is None:
            # Valid, but not for the quick path: llhttp may refuse what follows some valid messages
            # (anything after Connection: close), so the next buffer gets a fresh one.
            self.validator.reset()
        return quick

    def _read(self, data: bytes, method: bytes, space: int, line_end: int, end: int) -> QuickRequest | None:
        low = data[line_end:].lower()
        names = _REQUEST_NAMES.findall(low)
        if names != [b"host"]:
            # Anything but a single Host and at most one Connection: keep-alive goes the full way.
            if sorted(names) != [b"connection", b"host"]:
                return None
            connection_at = low.find(b"\nconnection:")
            if _value(low, connection_at + 12) != b"keep-alive":
                return None
            cut = line_end + connection_at
            data = data[: cut + 1] + data[data.find(b"\n", cut + 1) + 1 :]
            low = data[line_end:].lower()
            end = len(data) - 4
        target = data[space + 1 : line_end - 9]
        # Cheap bounds first: a field line takes at least 4 bytes, the target is in the head.
        if (end > self.max_target and len(target) > self.max_target) or (
            end > 4 * self.max_fields and low.count(b"\n") - 2 > self.max_fields
        ):
            return None
        host_at = line_end + low.find(b"\nhost:") + 6
        host = data[host_at : data.find(b"\r", host_at)].lstrip(b" \t")  # as llhttp reads it
        if not host:
            return None
        return QuickRequest(method, target, host, data[line_end + 2 : end + 2])


class QuickResponses:
    """Content-Length responses of one upstream connection (call only at a message boundary)."""

    __slots__ = ("last", "validator")

    def __init__(self) -> None:
        self.validator = _Validator(request=False)
        # The last quick response's head, body length, status and the head we sent for it: a
        # response with the very same head needs no second look (only its Date changes, once a
        # second, on a typical server answering a typical resource).
        self.last: tuple[bytes, int, int, bytes] | None = None

    def take(self, data: bytes) -> QuickResponse | None:
        """`data` as exactly one whole keep-alive HTTP/1.1 response framed by Content-Length.

        1xx, 204 and 304 answers, chunked or close-delimited bodies, Connection: close and a body
        not wholly in `data` (or anything after it) are declined.
        """
        last = self.last
        if last is not None and data.startswith(last[0]) and len(data) - len(last[0]) == last[1]:
            return QuickResponse(last[2], last[3] + data[len(last[0]) :])
        if data[:9] != b"HTTP/1.1 ":
            return None
        validator = self.validator
        if not validator.whole(data):
            return None
        quick = self._read(data)
        if quick is None:
            validator.reset()  # as for requests: a fresh parser after a message declined
        return quick

    def _read(self, data: bytes) -> QuickResponse | None:
        body_at = data.find(b"\r\n\r\n") + 4
        line_end = data.find(b"\r\n")
        low = data[line_end : body_at - 2].lower()
        length_at = low.find(b"\ncontent-length:")
        if length_at < 0:
            return None
        length = _value(low, length_at + 16)
        if not length.isdigit() or len(data) - body_at != int(length):
            return None  # not the whole message: llhttp went on into a next one
        status = int(data[9:12])
        status_line = STATUS_LINES.get(status)
        if status_line is None or status < 200 or status == 204 or status == 304:
            return None
        cuts = []
        for name in _RESPONSE_NAMES.findall(low):
            if name == b"connection":
                at = low.find(b"\nconnection:")
                if _value(low, at + 12) != b"keep-alive":
                    return None  # close, or a list naming more hop-by-hop fields
            elif name == b"keep-alive":
                at = low.find(b"\nkeep-alive:")
            elif name == b"content-length":
                continue
            else:
                return None
            if line_end + at in cuts:
                return None  # the same field twice
            cuts.append(line_end + at)
        head = data[:body_at]
        sent = status_line + _without_lines(head, line_end + 2, cuts)
        self.last = (head, len(data) - body_at, status, sent)
        return QuickResponse(status, sent + data[body_at:])
