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
# A request line of a bodiless method with an origin-form target in the characters RFC 3986 allows
# unescaped: stricter than llhttp, which accepts all of these (checked when the fields are known).
_REQUEST_LINE = re.compile(rb"(GET|HEAD|DELETE|OPTIONS) (/[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*) HTTP/1\.1")
# The response fields that need a look, with their values (trailing spaces included): Content-Length;
# Connection and Keep-Alive, dropped when plain; the other hop-by-hop fields send a response the
# full way.
_RESPONSE_FIELDS = re.compile(
    rb"\n(content-length|connection|keep-alive|transfer-encoding|te|trailer|upgrade|proxy-[a-z-]*):"
    rb"[ \t]*([^\r]*)",
    re.IGNORECASE,
)
# The two hop-by-hop response fields the quick path drops (with the CRLF before each).
_DROPPED_RESPONSE_LINES = re.compile(rb"\r\n(?:connection|keep-alive):[^\r]*", re.IGNORECASE)

# What a connection remembers is bounded: heads larger than this are read afresh every time (a
# remembered head is kept per connection, and connections can be many).
REMEMBER_MAX = 4096

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


class QuickRequests:
    """Bodiless requests of one client connection (call only at a message boundary)."""

    __slots__ = ("fields", "max_fields", "max_head", "max_target", "validator")

    def __init__(self, *, max_target: int, max_fields: int, max_head: int) -> None:
        self.max_target = max_target
        self.max_fields = max_fields
        self.max_head = max_head
        self.validator = _Validator(request=True)
        # The last taken request's field block (from the CRLF ending its request line), its Host
        # and the fields to forward: a client sends the same fields with every request, and
        # identical bytes read identically whatever request line precedes them.
        self.fields: tuple[bytes, bytes, bytes] | None = None

    def take(self, data: bytes) -> QuickRequest | None:
        """`data` as exactly one whole bodiless HTTP/1.1 request with one Host, or None.

        Requests over the limits are declined too: the full parser refuses them with the status
        that says which limit.
        """
        end = len(data) - 4
        if end > self.max_head or data.find(b"\r\n\r\n") != end:
            return None  # no whole head, or more than one (pipelined), or a body
        line_end = data.find(b"\r\n")
        line = _REQUEST_LINE.fullmatch(data, 0, line_end)
        if line is None or (line_end > self.max_target and line.end(2) - line.start(2) > self.max_target):
            return None
        known = self.fields
        if known is not None and data.endswith(known[0]) and len(known[0]) == len(data) - line_end:
            return QuickRequest(line.group(1), line.group(2), known[1], known[2])
        if not self.validator.whole(data):
            return None
        quick = self._read(data, line.group(1), line.group(2), line_end, end)
        if quick is None:
            # Valid, but not for the quick path: llhttp may refuse what follows some valid messages
            # (anything after Connection: close), so the next buffer gets a fresh one.
            self.validator.reset()
        else:
            if end - line_end < REMEMBER_MAX:
                self.fields = (data[line_end:], quick.host, quick.fields)
        return quick

    def _read(
        self, data: bytes, method: bytes, target: bytes, line_end: int, end: int
    ) -> QuickRequest | None:
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
        # A field line takes at least 4 bytes: count them only when there could be too many.
        if end > 4 * self.max_fields and low.count(b"\n") - 2 > self.max_fields:
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
        length = -1
        plain = True
        for name, value in _RESPONSE_FIELDS.findall(data, 12, body_at - 2):
            name = name.lower()
            if name == b"content-length":
                value = value.rstrip(b" \t")
                if length >= 0 or not value.isdigit():
                    return None
                length = int(value)
            elif name == b"keep-alive" or (
                name == b"connection" and value.rstrip(b" \t").lower() == b"keep-alive"
            ):
                plain = False
            else:
                return None  # close, a list naming more hop-by-hop fields, or another of them
        if length != len(data) - body_at:
            return None  # no length (so no quick framing), or not exactly the whole message
        status = int(data[9:12])
        status_line = STATUS_LINES.get(status)
        if status_line is None or status < 200 or status == 204 or status == 304:
            return None
        line_end = data.find(b"\r\n", 9)
        head = data[:body_at]
        if plain:
            sent = status_line + data[line_end + 2 : body_at]
        else:
            sent = status_line + _DROPPED_RESPONSE_LINES.sub(b"", data[line_end:body_at])[2:]
        if body_at < REMEMBER_MAX:
            self.last = (head, len(data) - body_at, status, sent)
        return QuickResponse(status, sent + data[body_at:])
