"""The quick path (proxy.quick) against the full parser: it may decline anything, but what it takes
it must read exactly as httptools does, and what it sends must parse to the same message."""

from __future__ import annotations

from typing import Any

import httptools
from hypothesis import given
from hypothesis import strategies as st

from proxy.headers import HOP_BY_HOP
from proxy.quick import REMEMBER_MAX, QuickRequests, QuickResponses

LIMITS = {"max_target": 8 * 1024, "max_fields": 100, "max_head": 32 * 1024}


class Collect:
    """A full httptools parse: every callback, as the proxy's full path sees a message."""

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.complete = 0
        self.keep_alive = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete += 1


def full_parse(data: bytes, kind: Any) -> tuple[Collect, Any] | None:
    """`data` through a full httptools parser of `kind` (request or response), or None if refused."""
    collect = Collect()
    parser = kind(collect)
    try:
        parser.feed_data(data)
    except (httptools.HttpParserError, httptools.HttpParserUpgrade):
        return None
    return collect, parser


def fields_of(block: bytes) -> list[tuple[bytes, bytes]]:
    found = []
    for line in block.split(b"\r\n"):
        if line:
            name, _, value = line.partition(b":")
            found.append((name, value.lstrip(b" \t")))  # llhttp keeps trailing spaces
    return found


def check_request(data: bytes, takes: QuickRequests | None = None) -> Any:
    """The quick reading of `data` agrees with the full parser's (when there is one)."""
    quick = (takes or QuickRequests(**LIMITS)).take(data)
    if quick is None:
        return None
    full = full_parse(data, httptools.HttpRequestParser)
    assert full is not None, f"quick took what the full parser refuses: {data!r}"
    collect, parser = full
    assert collect.complete == 1 and collect.body == b""
    assert parser.get_method() == quick.method and collect.url == quick.target
    assert parser.get_http_version() == "1.1"
    hosts = [value for name, value in collect.headers if name.lower() == b"host"]
    assert hosts == [quick.host]
    # Forwarded: every field the client sent but the hop-by-hop Connection, in order, unchanged.
    expected = [(n, v) for n, v in collect.headers if n.lower() != b"connection"]
    assert fields_of(quick.fields) == expected
    assert quick.fields.endswith(b"\r\n") and not quick.fields.endswith(b"\r\n\r\n")
    return quick


def check_response(data: bytes, takes: QuickResponses | None = None) -> Any:
    quick = (takes or QuickResponses()).take(data)
    if quick is None:
        return None
    full = full_parse(data, httptools.HttpResponseParser)
    assert full is not None, f"quick took what the full parser refuses: {data!r}"
    collect, parser = full
    assert collect.complete == 1
    assert parser.get_status_code() == quick.status
    sent = full_parse(quick.message, httptools.HttpResponseParser)
    assert sent is not None, f"the quick path sent an invalid message: {quick.message!r}"
    sent_collect, sent_parser = sent
    assert sent_collect.complete == 1 and sent_parser.get_status_code() == quick.status
    assert sent_collect.body == collect.body
    # The client gets the upstream's fields, without hop-by-hop ones, in the same order.
    expected = [(n, v) for n, v in collect.headers if n.lower() not in HOP_BY_HOP]
    assert sent_collect.headers == expected
    return quick


# --- requests ---------------------------------------------------------------------------------


def test_plain_requests_are_taken() -> None:
    quick = check_request(b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n")
    assert quick is not None and quick.host == b"example.com" and quick.target == b"/a?b=c"
    quick = check_request(b"HEAD / HTTP/1.1\r\nhOsT:  h.example:8080 \r\nConnection: Keep-Alive\r\n\r\n")
    assert quick is not None and quick.host == b"h.example:8080 "  # as llhttp reads it
    assert b"onnection" not in quick.fields  # the hop-by-hop field is not forwarded
    for method in (b"DELETE", b"OPTIONS"):
        assert check_request(method + b" /x HTTP/1.1\r\nHost: h\r\n\r\n") is not None


DECLINED_REQUESTS = {
    "a body": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi",
    "a GET with a length": b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    "chunked": b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "pipelined": b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
    "partial head": b"GET / HTTP/1.1\r\nHost: h\r\n",
    "HTTP/1.0": b"GET / HTTP/1.0\r\nHost: h\r\n\r\n",
    "no Host": b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
    "empty Host": b"GET / HTTP/1.1\r\nHost: \r\n\r\n",
    "two Hosts": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "Connection: close": b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    "Connection naming a field": b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\n\r\n",  # noqa: E501
    "two Connections": b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: keep-alive\r\n\r\n",  # noqa: E501
    "upgrade": b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "expect": b"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
    "a forwarding chain": b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
    "Forwarded": b"GET / HTTP/1.1\r\nHost: h\r\nForwarded: for=1.2.3.4\r\n\r\n",
    "X-Forwarded-Proto": b"GET / HTTP/1.1\r\nHost: h\r\nx-forwarded-proto: https\r\n\r\n",
    "TE": b"GET / HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n",
    "Proxy-Authorization": b"GET / HTTP/1.1\r\nHost: h\r\nProxy-Authorization: x\r\n\r\n",
    "absolute form": b"GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
    "asterisk form": b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    "obs-fold": b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n",
    "bare LF": b"GET / HTTP/1.1\nHost: h\n\n",
    "space before colon": b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
    "NUL in a value": b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n",
    "space in the target": b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
    "lower-case method": b"get / HTTP/1.1\r\nHost: h\r\n\r\n",
}


def test_everything_unusual_is_declined() -> None:
    for why, data in DECLINED_REQUESTS.items():
        assert QuickRequests(**LIMITS).take(data) is None, why


def test_the_remembered_fields_serve_only_the_same_fields_under_a_valid_request_line() -> None:
    takes = QuickRequests(**LIMITS)
    fields = b"Host: h\r\nAccept: */*\r\n\r\n"
    assert check_request(b"GET /a HTTP/1.1\r\n" + fields, takes) is not None
    quick = check_request(b"DELETE /b?c HTTP/1.1\r\n" + fields, takes)
    assert quick is not None and (quick.method, quick.target, quick.host) == (b"DELETE", b"/b?c", b"h")
    for line in (b"GET /a b HTTP/1.1", b"GET /\x7f HTTP/1.1", b"POST /a HTTP/1.1", b"GET /a HTTP/1.0",
                 b"GET http://h/ HTTP/1.1", b"GET /a  HTTP/1.1", b"GET /a HTTP/1.1 "):  # fmt: skip
        assert takes.take(line + b"\r\n" + fields) is None, line
    # Other fields are read afresh (and remembered in their turn).
    quick = check_request(b"GET /a HTTP/1.1\r\nHost: other\r\n\r\n", takes)
    assert quick is not None and quick.host == b"other"
    assert takes.take(b"GET /a HTTP/1.1\r\nHost: other\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n") is None


def test_what_a_connection_remembers_is_bounded() -> None:
    big = b"X-Big: " + b"a" * REMEMBER_MAX + b"\r\n"
    requests = QuickRequests(**LIMITS)
    assert check_request(b"GET / HTTP/1.1\r\nHost: h\r\n" + big + b"\r\n", requests) is not None
    assert requests.fields is None  # taken, not remembered
    responses = QuickResponses()
    assert check_response(b"HTTP/1.1 200 OK\r\n" + big + b"Content-Length: 2\r\n\r\nhi", responses)
    assert responses.last is None


def test_requests_over_a_limit_are_left_to_the_full_parser_to_refuse() -> None:
    takes = QuickRequests(max_target=16, max_fields=3, max_head=200)
    assert takes.take(b"GET /" + b"a" * 16 + b" HTTP/1.1\r\nHost: h\r\n\r\n") is None
    assert takes.take(b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X-A: 1\r\n" * 3 + b"\r\n") is None
    assert takes.take(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: " + b"a" * 200 + b"\r\n\r\n") is None
    assert takes.take(b"GET /" + b"a" * 15 + b" HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-B: 2\r\n\r\n")


def test_a_declined_buffer_does_not_disturb_the_next() -> None:
    takes = QuickRequests(**LIMITS)
    plain = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    for bad in DECLINED_REQUESTS.values():
        assert takes.take(bad) is None
        assert takes.take(plain) is not None


def _mostly(common: Any, rare: Any) -> Any:
    """Usually a well-formed choice (so that many examples are taken), sometimes anything."""
    return st.one_of(common, common, common, rare)


_NAMES = _mostly(
    st.sampled_from([b"Accept", b"X-Id", b"Cookie", b"User-Agent"]),
    st.sampled_from(
        [b"HOST", b"host", b"Connection", b"connection", b"Content-Length", b"Transfer-Encoding",
         b"Upgrade", b"Expect", b"TE", b"Keep-Alive",
         b"X-Forwarded-For", b"Forwarded", b"Proxy-Connection", b"Host ", b"X\x00", b""]
    ),
)  # fmt: skip
_VALUES = _mostly(
    st.sampled_from([b"keep-alive", b"Keep-Alive", b"h.example", b" a b ", b"*/*", b"x=1; y=2"]),
    st.one_of(st.sampled_from([b"close", b"chunked", b"0", b"keep-alive, x-id"]), st.binary(max_size=12)),
)


@given(
    method=_mostly(
        st.sampled_from([b"GET", b"HEAD"]), st.sampled_from([b"DELETE", b"OPTIONS", b"POST", b"get"])
    ),
    target=_mostly(
        st.sampled_from([b"/", b"/a?b=c", b"/x/y"]),
        st.one_of(st.sampled_from([b"*", b"http://h/"]), st.binary(max_size=10)),
    ),
    host=_mostly(
        st.sampled_from([b"Host: h.example\r\n", b"host:h\r\n"]), st.sampled_from([b"", b"Host: \r\n"])
    ),
    fields=st.lists(st.tuples(_NAMES, _VALUES), max_size=5),
    version=_mostly(st.just(b"HTTP/1.1"), st.sampled_from([b"HTTP/1.0", b"HTTP/2", b"HTTP/1.1 "])),
    tail=_mostly(st.just(b""), st.sampled_from([b"x", b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"])),
)
def test_quick_requests_read_as_the_full_parser(
    method: bytes, target: bytes, host: bytes, fields: list[tuple[bytes, bytes]], version: bytes, tail: bytes
) -> None:
    block = host + b"".join(name + b": " + value + b"\r\n" for name, value in fields) + b"\r\n" + tail
    check_request(method + b" " + target + b" " + version + b"\r\n" + block)
    # After a plain request with the same fields (remembered when taken), the fuzzed request line.
    takes = QuickRequests(**LIMITS)
    check_request(b"GET / HTTP/1.1\r\n" + block, takes)
    check_request(method + b" " + target + b" " + version + b"\r\n" + block, takes)


_TOKEN = st.text(
    alphabet="!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-",
    min_size=1,
    max_size=12,
)
_PLAIN_NAME = _TOKEN.filter(
    lambda name: name.lower() not in {"host", "connection", "content-length", "transfer-encoding",
                                      "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded",
                                      "upgrade", "expect", "keep-alive", "te", "trailer"}
    and not name.lower().startswith("proxy-")
).map(str.encode)  # fmt: skip
_PLAIN_VALUE = st.binary(max_size=16).map(
    lambda value: bytes(b if 0x21 <= b <= 0x7E or b >= 0x80 else 0x61 for b in value)
)  # visible characters (and obs-text), as RFC 9110 field values
_ORIGIN = st.text(alphabet="abcxyz0123456789/-._~%!$&'()*+,;=:@?", max_size=20).map(
    lambda t: b"/" + t.encode()
)


@given(
    method=st.sampled_from([b"GET", b"HEAD", b"DELETE", b"OPTIONS"]),
    target=_ORIGIN,
    host=st.sampled_from([b"h.example", b"H.Example:8080", b"[::1]:80", b"10.0.0.1"]),
    fields=st.lists(st.tuples(_PLAIN_NAME, _PLAIN_VALUE), max_size=8),
    host_at=st.integers(min_value=0, max_value=8),
    keep_alive=st.sampled_from([None, b"keep-alive", b"Keep-Alive"]),
)
def test_every_plain_request_is_taken_and_read_as_the_full_parser(
    method: bytes,
    target: bytes,
    host: bytes,
    fields: list[tuple[bytes, bytes]],
    host_at: int,
    keep_alive: bytes | None,
) -> None:
    fields = [*fields]
    fields.insert(min(host_at, len(fields)), (b"Host", host))
    if keep_alive is not None:
        fields.append((b"Connection", keep_alive))
    block = b"".join(name + b": " + value + b"\r\n" for name, value in fields)
    data = method + b" " + target + b" HTTP/1.1\r\n" + block + b"\r\n"
    takes = QuickRequests(**LIMITS)
    quick = check_request(data, takes)
    assert quick is not None, data
    assert quick.host == host
    # Another request line before the same fields: read from the remembered fields.
    other = b"HEAD " + target + b"x HTTP/1.1\r\n" + block + b"\r\n"
    quick = check_request(other, takes)
    assert quick is not None and quick.method == b"HEAD" and quick.target == target + b"x"


@given(
    status=st.sampled_from([200, 201, 301, 302, 400, 403, 404, 500, 502, 503]),
    fields=st.lists(st.tuples(_PLAIN_NAME, _PLAIN_VALUE), max_size=8),
    body=st.binary(max_size=64),
    hop=st.sampled_from([b"", b"Connection: keep-alive\r\n", b"Keep-Alive: timeout=5\r\n"]),
)
def test_every_plain_response_is_taken_and_read_as_the_full_parser(
    status: int, fields: list[tuple[bytes, bytes]], body: bytes, hop: bytes
) -> None:
    block = b"".join(name + b": " + value + b"\r\n" for name, value in fields)
    data = b"HTTP/1.1 %d Whatever\r\n%bContent-Length: %d\r\n%b\r\n%b" % (status, hop, len(body), block, body)
    takes = QuickResponses()
    assert check_response(data, takes) is not None, data
    assert check_response(data, takes) is not None, data  # the remembered head


# --- responses --------------------------------------------------------------------------------

NGINX = (
    b"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sat, 28 Nov 2026 10:31:53 GMT\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 19\r\nConnection: keep-alive\r\n\r\nhello from backend\n"
)


def test_plain_responses_are_taken_without_hop_by_hop_fields() -> None:
    quick = check_response(NGINX)
    assert quick is not None and quick.status == 200
    assert quick.message.startswith(b"HTTP/1.1 200 OK\r\nServer: nginx\r\n")
    assert b"onnection" not in quick.message
    quick = check_response(b"HTTP/1.1 404 Nope\r\nKeep-Alive: timeout=5\r\ncontent-length: 2\r\n\r\nno")
    assert quick is not None and quick.message == b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno"
    assert check_response(b"HTTP/1.1 503 \r\nContent-Length: 0\r\n\r\n") is not None


DECLINED_RESPONSES = {
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    "close-delimited": b"HTTP/1.1 200 OK\r\n\r\nhi",
    "Connection: close": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    "a body still coming": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi",
    "a second response": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",  # noqa: E501
    "trailing garbage": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi!",
    "HTTP/1.0": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    "204": b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    "304": b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
    "100 then 200": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    "101": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "unknown status": b"HTTP/1.1 299 Odd\r\nContent-Length: 2\r\n\r\nhi",
    "Trailer": b"HTTP/1.1 200 OK\r\nTrailer: X\r\nContent-Length: 2\r\n\r\nhi",
    "Proxy-Authenticate": b"HTTP/1.1 407 Auth\r\nProxy-Authenticate: Basic\r\nContent-Length: 2\r\n\r\nhi",
    "Connection naming a field": b"HTTP/1.1 200 OK\r\nConnection: X-A\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nhi",  # noqa: E501
    "two lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
    "obs-fold": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 2\r\n\r\nhi",
    "space before colon": b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nhi",
}


def test_everything_unusual_in_a_response_is_declined() -> None:
    for why, data in DECLINED_RESPONSES.items():
        assert QuickResponses().take(data) is None, why


def test_the_remembered_head_serves_only_the_same_head_and_length() -> None:
    takes = QuickResponses()
    assert check_response(NGINX, takes) is not None
    other_body = NGINX[:-19] + b"HELLO FROM BACKEND\n"
    assert check_response(other_body, takes).message.endswith(b"HELLO FROM BACKEND\n")
    for bad in (NGINX + b"x", NGINX[:-1], NGINX.replace(b"10:31:53", b"10:31:54") + b"x"):
        assert takes.take(bad) is None, bad
    changed = NGINX.replace(b"10:31:53", b"10:31:54")
    assert b"10:31:54" in check_response(changed, takes).message
    for bad in DECLINED_RESPONSES.values():
        assert takes.take(bad) is None
        assert takes.take(NGINX) is not None


_RESPONSE_NAMES = _mostly(
    st.sampled_from([b"Server", b"Date", b"Set-Cookie", b"X-A"]),
    st.sampled_from(
        [b"Connection", b"Keep-Alive", b"Content-Length", b"Transfer-Encoding", b"Trailer", b"Upgrade",
         b"Proxy-Authenticate", b" X"]
    ),
)  # fmt: skip
_RESPONSE_VALUES = _mostly(
    st.sampled_from([b"keep-alive", b"timeout=5", b"nginx", b"a=b; Path=/"]),
    st.one_of(
        st.sampled_from([b"close", b"chunked", b"2", b"02", b"-1", b"2, 2", b"X-A"]), st.binary(max_size=10)
    ),
)


@given(
    status=_mostly(
        st.sampled_from([b"200 OK", b"404 ", b"503"]),
        st.sampled_from([b"204 No Content", b"304 X", b"101 Up", b"2000 X", b"100 Continue"]),
    ),
    length=_mostly(
        st.sampled_from([b"Content-Length: 2\r\n", b"content-length:2\r\n"]),
        st.sampled_from([b"", b"Content-Length: 3\r\n", b"Transfer-Encoding: chunked\r\n"]),
    ),
    fields=st.lists(st.tuples(_RESPONSE_NAMES, _RESPONSE_VALUES), max_size=5),
    body=_mostly(st.just(b"hi"), st.sampled_from([b"", b"hi!", b"2\r\nhi\r\n0\r\n\r\n"])),
    version=_mostly(st.just(b"HTTP/1.1"), st.just(b"HTTP/1.0")),
)
def test_quick_responses_read_as_the_full_parser(
    status: bytes, length: bytes, fields: list[tuple[bytes, bytes]], body: bytes, version: bytes
) -> None:
    head = version + b" " + status + b"\r\n" + length
    data = head + b"".join(name + b": " + value + b"\r\n" for name, value in fields) + b"\r\n" + body
    takes = QuickResponses()
    check_response(data, takes)
    check_response(data, takes)  # the second time from the remembered head, if it was taken
