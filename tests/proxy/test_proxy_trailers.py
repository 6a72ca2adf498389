"""Trailer fields pass through chunked bodies both ways (checksums after a streamed upload, say);
fields not allowed as trailers (RFC 9110 6.5.1) are dropped; a client reading to the close
(HTTP/1.0) gets the body without them."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.proxy.conftest import RawBackend, proxy_to

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Digest\r\n\r\n"
    b"4\r\nbody\r\n0\r\nX-Digest: sha-256=abc\r\nSet-Cookie: a=b\r\n\r\n"
)


async def exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = b""
    try:
        async with asyncio.timeout(3):
            # The answer ends with its last chunk and trailer section: "0\r\n...\r\n\r\n".
            while not (b"\r\n0\r\n" in data and data.endswith(b"\r\n\r\n")):
                chunk = await reader.read(65536)
                if not chunk:
                    break
                data += chunk
    finally:
        writer.close()
    return data


async def test_trailers_pass_through_chunked_bodies_both_ways(proxy_server: Any) -> None:
    backend = await RawBackend(lambda head: RESPONSE).start()
    server = await proxy_to(backend, proxy_server)
    port = server.bound[0][1]
    try:
        answer = await exchange(
            port,
            b"PUT /up HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: crc32=1234\r\nHost: evil.test\r\n"
            b"Content-Type: text/evil\r\n\r\n",
        )
    finally:
        await backend.stop()
    head, body = backend.heads[0], backend.bodies[0]
    assert b"\r\nTrailer: X-Checksum" in head  # the announcement is end to end
    assert (
        body == b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: crc32=1234\r\n\r\n"
    )  # Host, Content-Type dropped
    answer_head, _, answer_body = answer.partition(b"\r\n\r\n")
    assert answer_head.startswith(b"HTTP/1.1 200") and b"\r\nTrailer: X-Digest" in answer_head
    assert answer_body == b"4\r\nbody\r\n0\r\nX-Digest: sha-256=abc\r\n\r\n"


async def test_an_http10_client_gets_the_body_without_trailers(proxy_server: Any) -> None:
    backend = await RawBackend(lambda head: RESPONSE).start()
    server = await proxy_to(backend, proxy_server)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.bound[0][1])
    try:
        writer.write(b"GET / HTTP/1.0\r\nHost: h.test\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(-1), 3)  # to the close
    finally:
        writer.close()
        await backend.stop()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == b"body"
