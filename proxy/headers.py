"""Header rules of a reverse proxy (pure): hop-by-hop stripping and the forwarding headers."""

from __future__ import annotations

from http import HTTPStatus

# RFC 9110 7.6.1: meaningful for one connection only, never forwarded (plus what Connection names).
# `Trailer` is not among them: it announces end-to-end trailer fields, which are forwarded.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"transfer-encoding",
        b"upgrade",
    }
)
# RFC 9110 6.5.1: fields that must not be sent as trailers (framing, routing, request modifiers,
# authentication, response control, how to process the content); a recipient may discard them,
# and the proxy does, with hop-by-hop ones. Other trailer fields pass through chunked bodies.
NOT_TRAILERS = HOP_BY_HOP | {
    b"content-length",
    b"host",
    b"trailer",
    b"content-type",
    b"content-encoding",
    b"content-range",
    b"authorization",
    b"cookie",
    b"set-cookie",
    b"expect",
    b"range",
    b"if-match",
    b"if-none-match",
    b"if-modified-since",
    b"if-unmodified-since",
    b"if-range",
    b"cache-control",
    b"max-forwards",
    b"www-authenticate",
    b"location",
    b"retry-after",
    b"vary",
    b"age",
    b"expires",
    b"date",
}


def trailer_block(fields: list[tuple[bytes, bytes]]) -> bytes:
    """The last chunk and the trailer section of a chunked body, without the fields not allowed
    in trailers."""
    kept = [name + b": " + value + b"\r\n" for name, value in fields if name.lower() not in NOT_TRAILERS]
    return b"0\r\n" + b"".join(kept) + b"\r\n"


# Also removed from requests: we frame bodies ourselves and answer Expect ourselves.
REQUEST_DROP = HOP_BY_HOP | {b"content-length", b"expect"}
RESPONSE_DROP = HOP_BY_HOP | {b"content-length"}

IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})


PLAIN_CONNECTION = {b"keep-alive", b"close", b"Keep-Alive", b"Close", b"upgrade", b"Upgrade"}


def connection_tokens(values: list[bytes]) -> frozenset[bytes]:
    """The header names a Connection header lists (RFC 9110 7.6.1), lower-cased."""
    if len(values) == 1 and values[0] in PLAIN_CONNECTION:
        return frozenset((values[0].lower(),))  # the common case, already hop-by-hop
    tokens: set[bytes] = set()
    for value in values:
        for token in value.split(b","):
            token = token.strip().lower()
            if token:
                tokens.add(token)
    return frozenset(tokens)


def forwarded_node(address: str) -> bytes:
    """An address as a Forwarded `for=` value (RFC 7239: IPv6 quoted and bracketed)."""
    if ":" in address:
        return b'"[' + address.encode() + b']"'
    return address.encode()


def forwarding_headers(
    client: str, proto: bytes, host: bytes, prior_xff: bytes | None, prior_forwarded: bytes | None
) -> list[tuple[bytes, bytes]]:
    """X-Forwarded-For/-Proto/-Host and Forwarded, appending to what earlier proxies wrote."""
    address = client.encode()
    xff = prior_xff + b", " + address if prior_xff else address
    element = b"for=" + forwarded_node(client) + b";proto=" + proto
    if host:
        element += b';host="' + host.replace(b'"', b"") + b'"'
    forwarded = prior_forwarded + b", " + element if prior_forwarded else element
    return [
        (b"X-Forwarded-For", xff),
        (b"X-Forwarded-Proto", proto),
        (b"X-Forwarded-Host", host),
        (b"Forwarded", forwarded),
    ]


def serialize(headers: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join([name + b": " + value + b"\r\n" for name, value in headers])


def forwarding_block(
    client: str, proto: bytes, host: bytes, prior_xff: bytes | None, prior_forwarded: bytes | None
) -> bytes:
    """forwarding_headers, serialized (the data path's form)."""
    address = client.encode()
    host_part = b';host="' + host.replace(b'"', b"") + b'"' if host else b""
    element = (
        b"for=" + (forwarded_node(client) if ":" in client else address) + b";proto=" + proto + host_part
    )
    return b"X-Forwarded-For: %b\r\nX-Forwarded-Proto: %b\r\nX-Forwarded-Host: %b\r\nForwarded: %b\r\n" % (
        prior_xff + b", " + address if prior_xff else address,
        proto,
        host,
        prior_forwarded + b", " + element if prior_forwarded else element,
    )


# Reason phrases of the status lines we write (RFC 9110's names where http.HTTPStatus is older).
REASONS = {status.value: status.phrase.encode() for status in HTTPStatus} | {
    200: b"OK",
    308: b"Permanent Redirect",
    400: b"Bad Request",
    404: b"Not Found",
    408: b"Request Timeout",
    413: b"Content Too Large",
    414: b"URI Too Long",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    417: b"Expectation Failed",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
    504: b"Gateway Timeout",
}
