"""UDP and TCP listeners for the DNS hot path.

The UDP path is a readiness callback that drains the socket in batches: parse, answer from the
snapshot, send — no await, no task, no transport object per query. TCP frames messages with a
two-byte length (RFC 1035 4.2.2), answers pipelined queries in order, and bounds connections and
idle time so slow clients cannot pin resources (RFC 7766 recommends idle timeouts in seconds).

AXFR/IXFR over TCP go to an optional `Transfers` handler (`gslb.dns.xfr`): a task writes its
messages one at a time, waiting while the client's socket is full and yielding to the loop between
messages; queries pipelined behind a transfer wait for it to finish, so answers stay in order.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from gslb.dns.message import Deferred

log = logging.getLogger(__name__)

TCP_IDLE_TIMEOUT = 10.0
MAX_TCP_CONNECTIONS = 1024
MAX_TCP_BUFFER = 65535 + 2
# A transfer whose client stops reading for this long is abandoned (the connection is closed).
TRANSFER_STALL_TIMEOUT = 30.0
UDP_BATCH = 64
BIND_ATTEMPTS = 20
# Queries are small; a datagram longer than this is cut and then fails to parse (FORMERR), which
# is the right answer for a "query" that size. recvfrom allocates this much per call.
MAX_UDP_QUERY = 4096


class Answerer(Protocol):
    def answer(self, packet: bytes, client_ip: str, *, tcp: bool) -> bytes | Deferred | None: ...


def send_later(
    deferred: Deferred, send: Callable[[bytes], None], pending: set[asyncio.Future[bytes | None]]
) -> None:
    """Await a response computed off the hot path (a forwarded query), then `send` it."""
    future = asyncio.ensure_future(deferred)
    pending.add(future)

    def done(finished: asyncio.Future[bytes | None]) -> None:
        pending.discard(finished)
        if finished.cancelled():
            return
        error = finished.exception()
        if error is not None:
            log.error("a deferred DNS answer failed: %r", error)
            return
        response = finished.result()
        if response is not None:
            send(response)

    future.add_done_callback(done)


class Transfers(Protocol):
    """Zone transfers over TCP: `wants` picks the queries, `responses` renders their messages lazily
    (an empty message is not sent: it asks for a turn of the event loop)."""

    def wants(self, packet: bytes) -> bool: ...

    def responses(self, packet: bytes, client_ip: str) -> Iterator[bytes]: ...


@dataclass(frozen=True, slots=True)
class ListenAddress:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        """'127.0.0.1:53', '[::1]:53', ':5353' (all IPv4 addresses)."""
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{text!r} is not ADDRESS:PORT (for example 127.0.0.1:53 or [::1]:53)")
        host = host.strip("[]") or "0.0.0.0"
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError:
            raise ValueError(f"{host!r} in {text!r} is not an IPv4 or IPv6 address") from None
        return cls(host, int(port))

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def bound_socket(address: ListenAddress, kind: socket.SocketKind, *, reuse_port: bool) -> socket.socket:
    """A bound socket; SO_REUSEPORT lets worker processes share the port with kernel load balancing."""
    sock = socket.socket(address.family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if address.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if kind == socket.SOCK_DGRAM:
            # Bursts of queries must not be dropped by a small default receive buffer.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind((address.host, address.port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class UdpDnsReader:
    """Answers a UDP socket straight from the event loop's readiness callback, in batches.

    One wake-up drains up to `batch` datagrams with plain recvfrom/sendto: under load the socket
    queue is never empty, so the cost of the poll and the callback is shared by many queries
    (asyncio's datagram transport pays it per packet). A full send buffer drops that response,
    as a router would; the client retries.
    """

    __slots__ = ("_answer", "_batch", "_loop", "_pending", "_sock", "dropped_sends")

    def __init__(self, sock: socket.socket, answerer: Answerer, *, batch: int = UDP_BATCH) -> None:
        self._sock = sock
        self._answer = answerer.answer
        self._batch = batch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[asyncio.Future[bytes | None]] = set()
        self.dropped_sends = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_reader(self._sock.fileno(), self._drain)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._loop = None
        for future in list(self._pending):
            future.cancel()
        self._sock.close()

    def _drain(self) -> None:
        recvfrom = self._sock.recvfrom
        sendto = self._sock.sendto
        answer = self._answer
        for _ in range(self._batch):  # bounded, so TCP, timers and the feed get their turn
            try:
                data, addr = recvfrom(MAX_UDP_QUERY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # an ICMP error from an earlier send: not ours to fix
                log.debug("udp receive error: %s", exc)
                continue
            response = answer(data, addr[0], tcp=False)
            if response is None:
                continue
            if not isinstance(response, bytes):
                send_later(response, partial(self._send, addr=addr), self._pending)
                continue
            try:
                sendto(response, addr)
            except (BlockingIOError, InterruptedError):
                self.dropped_sends += 1
            except OSError as exc:
                log.debug("udp send to %s failed: %s", addr[0], exc)

    def _send(self, response: bytes, addr: tuple[str, int]) -> None:
        try:
            self._sock.sendto(response, addr)
        except (BlockingIOError, InterruptedError):
            self.dropped_sends += 1
        except OSError as exc:
            log.debug("udp send to %s failed: %s", addr[0], exc)


class TcpDnsProtocol(asyncio.Protocol):
    def __init__(
        self,
        answerer: Answerer,
        connections: set[TcpDnsProtocol],
        idle_timeout: float,
        transfers: Transfers | None = None,
    ) -> None:
        self._answer = answerer.answer
        self._connections = connections
        self._idle_timeout = idle_timeout
        self._transfers = transfers
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._peer = ""
        self._idle: asyncio.TimerHandle | None = None
        self._transfer: asyncio.Task[None] | None = None
        self._writable = asyncio.Event()  # clear while the transport's write buffer is full
        self._writable.set()
        self._pending: set[asyncio.Future[bytes | None]] = set()
        self._held: list[bytes] = []  # deferred answers finished during a transfer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        if len(self._connections) >= MAX_TCP_CONNECTIONS:
            transport.close()  # shed load rather than exhaust file descriptors
            return
        self._connections.add(self)
        peer = transport.get_extra_info("peername")
        self._peer = peer[0] if peer else ""
        self._arm_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        for future in list(self._pending):
            future.cancel()
        if self._idle is not None:
            self._idle.cancel()
        if self._transfer is not None:
            self._transfer.cancel()
        self._writable.set()  # wake a transfer waiting to write, so it sees the cancellation

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > MAX_TCP_BUFFER * 4:
            self.close()
            return
        if self._transfer is not None:
            return  # answered when the transfer ends, in order
        self._process()

    def _process(self) -> None:
        while len(self._buffer) >= 2:
            length = int.from_bytes(self._buffer[:2], "big")
            if len(self._buffer) < 2 + length:
                break
            packet = bytes(self._buffer[2 : 2 + length])
            del self._buffer[: 2 + length]
            if self._transfers is not None and self._transfers.wants(packet):
                self._start_transfer(packet)
                return
            response = self._answer(packet, self._peer, tcp=True)
            if response is None:
                self.close()  # not a query we will answer: RFC 7766 lets us close
                return
            if not isinstance(response, bytes):
                # RFC 7766 section 6.2.1.1: responses may come back out of order.
                send_later(response, self._write, self._pending)
                continue
            self._write(response)
        self._arm_idle()

    def _start_transfer(self, packet: bytes) -> None:
        assert self._transfers is not None
        if self._idle is not None:
            self._idle.cancel()  # a long transfer is not idleness; a stalled reader is timed below
        self._transfer = asyncio.get_running_loop().create_task(
            self._run_transfer(self._transfers.responses(packet, self._peer))
        )

    async def _run_transfer(self, messages: Iterator[bytes]) -> None:
        try:
            for message in messages:
                if self._transport is None or self._transport.is_closing():
                    return
                if message:  # empty: nothing to send yet, only a turn for the loop
                    self._transport.write(len(message).to_bytes(2, "big") + message)
                    async with asyncio.timeout(TRANSFER_STALL_TIMEOUT):
                        await self._writable.wait()
                await asyncio.sleep(0)  # let queries on other sockets in between messages
        except TimeoutError:
            log.warning("zone transfer to %s abandoned: the client stopped reading", self._peer)
            self.close()
            return
        except Exception:  # a bug must cost this transfer, not the server
            log.exception("zone transfer to %s failed", self._peer)
            self.close()
            return
        finally:
            messages_close = getattr(messages, "close", None)
            if messages_close is not None:
                messages_close()
            self._transfer = None
        if self._transport is not None and not self._transport.is_closing():
            held, self._held = self._held, []
            for response in held:  # forwarded answers that completed while the transfer ran
                self._write(response)
            self._process()  # queries that arrived during the transfer; re-arms the idle timer

    def _write(self, response: bytes) -> None:
        if self._transfer is not None:
            # Never inside a transfer's message stream (RFC 5936 section 2.2: its messages are one
            # response); sent when it ends.
            self._held.append(response)
            return
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(len(response).to_bytes(2, "big") + response)

    def _arm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self._idle_timeout, self.close)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class DnsListeners:
    """Every UDP and TCP listener of one process; started and closed together."""

    def __init__(
        self,
        answerer: Answerer,
        addresses: list[ListenAddress],
        *,
        reuse_port: bool = False,
        tcp_idle_timeout: float = TCP_IDLE_TIMEOUT,
        transfers: Transfers | None = None,
    ) -> None:
        self._answerer = answerer
        self._transfers = transfers
        self._addresses = addresses
        self._reuse_port = reuse_port
        self._tcp_idle_timeout = tcp_idle_timeout
        self._udp: list[UdpDnsReader] = []
        self._tcp: list[asyncio.Server] = []
        self._connections: set[TcpDnsProtocol] = set()
        self.bound: list[tuple[str, int]] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            for address in self._addresses:
                udp_sock, tcp_sock = self._bind_pair(address)
                port = udp_sock.getsockname()[1]
                reader = UdpDnsReader(udp_sock, self._answerer)
                reader.start(loop)
                self._udp.append(reader)
                server = await loop.create_server(self._tcp_factory(), sock=tcp_sock, backlog=1024)
                self._tcp.append(server)
                self.bound.append((address.host, port))
        except OSError:
            await self.close()
            raise

    def _bind_pair(self, address: ListenAddress) -> tuple[socket.socket, socket.socket]:
        """UDP and TCP sockets on the same port. Port 0 picks a free UDP port and gives TCP the
        same one; that port may be busy for TCP (an outgoing connection's), so try a few."""
        attempts = BIND_ATTEMPTS if address.port == 0 else 1
        for attempt in range(attempts):
            udp_sock = bound_socket(address, socket.SOCK_DGRAM, reuse_port=self._reuse_port)
            tcp_address = ListenAddress(address.host, udp_sock.getsockname()[1])
            try:
                return udp_sock, bound_socket(tcp_address, socket.SOCK_STREAM, reuse_port=self._reuse_port)
            except OSError as exc:
                udp_sock.close()
                if exc.errno != errno.EADDRINUSE or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _tcp_factory(self) -> Callable[[], TcpDnsProtocol]:
        return lambda: TcpDnsProtocol(
            self._answerer, self._connections, self._tcp_idle_timeout, self._transfers
        )

    async def close(self) -> None:
        for reader in self._udp:
            reader.close()
        for server in self._tcp:
            server.close()
        for connection in list(self._connections):
            connection.close()
        for server in self._tcp:
            await server.wait_closed()
        self._udp.clear()
        self._tcp.clear()
