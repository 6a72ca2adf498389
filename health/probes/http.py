"""HTTP and HTTPS checks over a raw asyncio protocol: one request, status and optional body checks.

Not aiohttp: a check needs one request on a fresh connection, the status line and maybe part of
the body, and this does several times as many checks per second on one core (tests/bench). The
connection is aborted (RST) as soon as the verdict is known, so a checker doing thousands of checks
a second does not fill the ephemeral port range with TIME_WAIT sockets.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import ssl
from typing import cast

from gslb.policy.health import HttpCheck
from health.probes.common import ProbeFailed, resolve
from health.targets import Target

MAX_RESPONSE = 64 * 1024  # body checks look at this much, no more
_HEAD_END = b"\r\n\r\n"


@functools.cache
def tls_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def build_request(target: Target) -> bytes:
    check = target.check
    assert isinstance(check, HttpCheck)
    host = check.host
    if host is None:
        host = f"[{target.host}]" if ":" in target.host else target.host
        default = 443 if check.type == "https" else 80
        if target.port != default:
            host = f"{host}:{target.port}"
    lines = [f"{check.method} {check.path} HTTP/1.1", f"Host: {host}", "User-Agent: gslb-health"]
    lines += [f"{name}: {value}" for name, value in check.headers.items()]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


class _Exchange(asyncio.Protocol):
    """Sends the request; resolves `done` with the response bytes once the verdict can be made."""

    def __init__(self, request: bytes, done: asyncio.Future[bytes], want_body: bool) -> None:
        self.request = request
        self.done = done
        self.want_body = want_body
        self.buffer = bytearray()
        self.body_start = -1
        self.length: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.WriteTransport subclasses, but have its methods
        cast(asyncio.WriteTransport, transport).write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.body_start < 0:
            end = self.buffer.find(_HEAD_END)
            if end < 0:
                if len(self.buffer) > MAX_RESPONSE:
                    self._finish()
                return
            self.body_start = end + 4
            if not self.want_body:
                self._finish()
                return
            match = re.search(rb"\r\ncontent-length:[ \t]*(\d+)", self.buffer[:end], re.IGNORECASE)
            if match:
                self.length = int(match.group(1))
        if (self.length is not None and len(self.buffer) - self.body_start >= self.length) or len(
            self.buffer
        ) - self.body_start >= MAX_RESPONSE:
            self._finish()

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(bytes(self.buffer))

    def eof_received(self) -> bool:
        self._finish()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            if exc is not None and not self.buffer:
                self.done.set_exception(exc)
            else:
                self._finish()


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    position = 0
    while position < len(body):
        end = body.find(b"\r\n", position)
        if end < 0:
            break
        try:
            size = int(body[position:end].split(b";", 1)[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += body[end + 2 : end + 2 + size]
        position = end + 2 + size + 2
    return bytes(out)


def judge(check: HttpCheck, response: bytes) -> None:
    """Raise ProbeFailed unless the response satisfies the check."""
    if not response:
        raise ProbeFailed("the connection closed without a response")
    line_end = response.find(b"\r\n")
    status_line = response[: line_end if line_end >= 0 else 64]
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ProbeFailed(f"not an HTTP response: {status_line[:40]!r}")
    status = int(parts[1])
    expected = check.expect_status
    if status not in expected:
        raise ProbeFailed(f"status {status}, expected {', '.join(map(str, expected))}")
    substring = check.expect_body
    pattern = check.expect_body_regex
    if substring is None and pattern is None:
        return
    head_end = response.find(_HEAD_END)
    if head_end < 0:
        raise ProbeFailed("the response ended inside its headers")
    body = response[head_end + 4 :]
    if re.search(rb"\r\ntransfer-encoding:[^\r]*chunked", response[:head_end], re.IGNORECASE):
        body = _dechunk(body)
    text = body.decode("utf-8", "replace")
    if substring is not None and substring not in text:
        raise ProbeFailed(f"body does not contain {substring!r}")
    if pattern is not None and not _regex(pattern).search(text):
        raise ProbeFailed(f"body does not match /{pattern}/")


async def probe_http(target: Target) -> None:
    check = target.check
    if not isinstance(check, HttpCheck):
        raise ProbeFailed(f"check type {check.type!r} is not an HTTP check")
    _family, address = await resolve(target.host, target.port)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()
    want_body = check.method != "HEAD" and (
        check.expect_body is not None or check.expect_body_regex is not None
    )
    request = build_request(target)
    context: ssl.SSLContext | None = None
    server_hostname: str | None = None
    if check.type == "https":
        sni = check.tls_sni or check.host
        server_hostname = sni or (address if _is_address(target.host) else target.host)
        context = tls_context(check.tls_verify)
    try:
        transport, _ = await loop.create_connection(
            lambda: _Exchange(request, done, want_body),
            address,
            target.port,
            ssl=context,
            server_hostname=server_hostname,
        )
    except ssl.SSLCertVerificationError as exc:
        raise ProbeFailed(
            f"TLS certificate not accepted: {exc.verify_message} (set tls_verify: false to skip)"
        ) from None
    except ssl.SSLError as exc:
        raise ProbeFailed(f"TLS handshake failed: {exc.reason or exc}") from None
    try:
        response = await done
    finally:
        transport.abort()
    judge(check, response)
