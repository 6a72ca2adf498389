"""Shared by the zone-transfer tests: a policy with transfers, TSIG keys, a running `gslb dns`, and a
real UDP server that records the NOTIFY messages it receives."""

from __future__ import annotations

import asyncio
import base64
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import pytest

from gslb.importer import load_policy_yaml
from gslb.store import KeySpace, PolicyStore, Store
from gslb.store.factory import redis_client
from tests.conftest import free_port

ZONE = "xfr.example."
SECRETS = {
    "xfr-key": base64.b64encode(b"x" * 32).decode(),
    "other-key": base64.b64encode(b"o" * 32).decode(),
}
KEYRING = dns.tsigkeyring.from_text({name: ("hmac-sha256", secret) for name, secret in SECRETS.items()})
XFR_KEY = dns.tsig.Key("xfr-key.", SECRETS["xfr-key"], "hmac-sha256")
OTHER_KEY = dns.tsig.Key("other-key.", SECRETS["other-key"], "hmac-sha256")


def key_file(path: Path) -> Path:
    """The node's key file, in BIND syntax (what tsig-keygen prints) for one key and YAML-free."""
    path.write_text(
        "".join(
            f'key "{name}" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n'
            for name, secret in SECRETS.items()
        )
    )
    path.chmod(0o600)
    return path


def policy_yaml(notify: list[str], bulk: int = 0) -> str:
    """A zone with every kind of content a transfer carries, plus zones that must be refused."""
    filler = "filler-" * 12
    bulk_records = "".join(
        f"          bulk{index}: {{type: TXT, values: ['{filler}{index}']}}\n" for index in range(bulk)
    )
    return f"""
tenants:
  acme:
    checks:
      web: {{type: tcp, port: 80}}
    zones:
      {ZONE}:
        ttl: 300
        transfer:
          keys: [xfr-key]
          networks: [127.0.0.0/8, '::1/128']
          also_notify: {notify!r}
        records:
          '':
            - {{type: NS, values: [ns1.xfr.example., ns2.xfr.example.]}}
            - {{type: MX, values: [{{preference: 10, exchange: mail.xfr.example.}}]}}
            - {{type: TXT, values: ['v=spf1 -all']}}
          ns1: {{type: A, values: [192.0.2.53]}}
          ns2: {{type: AAAA, values: ['2001:db8::53']}}
          mail: {{type: A, values: [192.0.2.25]}}
          www:
            type: A
            dynamic:
              pools:
                eu:
                  values:
                    - {{value: 192.0.2.10, health_check: web}}
                    - {{value: 192.0.2.12, weight: 3, health_check: web}}
                    - {{value: 192.0.2.11, status: down}}
                  fallback: us
                us: {{values: [{{value: 198.51.100.10}}]}}
              rules:
                - {{subnets: [127.0.0.0/8], pool: eu}}
                - {{pool: us}}
              max_answers: 1
          app:
            type: A
            values: [192.0.2.99]
            dynamic:
              pools:
                eu: {{values: [{{value: 192.0.2.10}}]}}
              rules:
                - {{geos: [EU], pool: eu}}
          cdn:
            type: CNAME
            dynamic:
              pools:
                main:
                  values: [{{value: a.cdn.example.net., weight: 1}}, {{value: b.cdn.example.net., weight: 5}}]
              rules:
                - {{pool: main}}
          '*.wild': {{type: TXT, values: [wildcard]}}
          sub: {{type: NS, values: [ns.sub.xfr.example.]}}
          ns.sub: {{type: A, values: [192.0.2.77]}}
{bulk_records}
      closed.example.:
        records:
          '': {{type: NS, values: [ns1.xfr.example.]}}
      other.example.:
        transfer: {{keys: [other-key]}}
        records:
          '': {{type: NS, values: [ns1.xfr.example.]}}
"""


# What a secondary must serve for ZONE: static records as declared, dynamic names as their
# fail-open set (see gslb.engine.transfer), the SOA apart.
EXPECTED = {
    ("xfr.example.", "NS"): {"ns1.xfr.example.", "ns2.xfr.example."},
    ("xfr.example.", "MX"): {"10 mail.xfr.example."},
    ("xfr.example.", "TXT"): {'"v=spf1 -all"'},
    ("ns1.xfr.example.", "A"): {"192.0.2.53"},
    ("ns2.xfr.example.", "AAAA"): {"2001:db8::53"},
    ("mail.xfr.example.", "A"): {"192.0.2.25"},
    # first rule's pool regardless of health, the drained (status: down) member left out
    ("www.xfr.example.", "A"): {"192.0.2.10", "192.0.2.12"},
    ("app.xfr.example.", "A"): {"192.0.2.99"},  # static values win
    ("cdn.xfr.example.", "CNAME"): {"b.cdn.example.net."},  # one target: the heaviest
    ("*.wild.xfr.example.", "TXT"): {'"wildcard"'},
    ("sub.xfr.example.", "NS"): {"ns.sub.xfr.example."},
    ("ns.sub.xfr.example.", "A"): {"192.0.2.77"},
}


def transferred(messages: list[dns.message.Message]) -> tuple[list[Any], dict[tuple[str, str], set[str]]]:
    """(the SOA records in order, every other record set as {(owner, type): {rdata text}})."""
    soas = []
    content: dict[tuple[str, str], set[str]] = {}
    for message in messages:
        for rrset in message.answer:
            rdtype = dns.rdatatype.to_text(rrset.rdtype)
            if rdtype == "SOA":
                soas.extend(rrset)
                continue
            content.setdefault((rrset.name.to_text(), rdtype), set()).update(rd.to_text() for rd in rrset)
    return soas, content


def axfr(
    port: int, zone: str = ZONE, key: dns.tsig.Key | None = None, **kwargs: Any
) -> list[dns.message.Message]:
    """Every message of a transfer, read with dnspython's transfer client (TSIG checked on each)."""
    return list(
        dns.query.xfr("127.0.0.1", zone, port=port, timeout=5, keyring=key, relativize=False, **kwargs)
    )


def raw_tcp(port: int, query: dns.message.Message | bytes) -> dns.message.Message:
    """One response over TCP, parsed without checking its TSIG (to read the TSIG error itself)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        wire = query if isinstance(query, bytes) else query.to_wire()
        sock.sendall(len(wire).to_bytes(2, "big") + wire)
        length = int.from_bytes(_read(sock, 2), "big")
        return dns.message.from_wire(_read(sock, length), keyring=lambda _m, _n: False)


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return data


@dataclass
class NotifyListener:
    """A real UDP server on loopback: answers every NOTIFY (signed with the xfr key) and records it."""

    port: int = 0
    received: list[tuple[str, int, str | None]] = field(default_factory=list)  # (zone, serial, key)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> NotifyListener:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data, addr = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                message = dns.message.from_wire(data, keyring=KEYRING)
            except Exception:
                continue
            if message.opcode() != dns.opcode.NOTIFY:
                continue
            serial = message.answer[0][0].serial if message.answer else -1
            keyname = message.keyname.to_text() if message.had_tsig and message.keyname else None
            self.received.append((message.question[0].name.to_text(), serial, keyname))
            response = dns.message.make_response(message)
            self._sock.sendto(response.to_wire(), addr)

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> tuple[str, int, str | None]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in list(self.received):
                if predicate(item):
                    return item
            time.sleep(0.01)
        raise AssertionError(f"no matching NOTIFY within {timeout}s; received {self.received}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._sock is not None:
            self._sock.close()


@pytest.fixture
def notify_listener() -> Iterator[NotifyListener]:
    listener = NotifyListener().start()
    yield listener
    listener.stop()


def stored_policy(redis_url: str, yaml_text: str) -> str:
    """Store the policy under a fresh prefix from synchronous code; returns the prefix."""

    async def store_it() -> str:
        _policy_store, store, prefix = await policy_store_with(redis_url, yaml_text)
        await store.close()
        return prefix

    return asyncio.run(store_it())


async def policy_store_with(redis_url: str, yaml_text: str) -> tuple[PolicyStore, Store, str]:
    prefix = f"xfr{uuid.uuid4().hex[:8]}"
    store = Store(redis_client(redis_url), keys=KeySpace(prefix))
    policy_store = PolicyStore(store)
    imported = load_policy_yaml(yaml_text, filename="xfr-test")
    await policy_store.apply(list(imported.specs))
    return policy_store, store, prefix


def start_gslb_dns(
    redis_url: str, prefix: str, keys: Path | None, *extra: str
) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    args = [sys.executable, "-m", "gslb", "dns", "--redis-url", redis_url, "--prefix", prefix]
    args += ["--listen", f"127.0.0.1:{port}", *extra]
    if keys is not None:
        args += ["--tsig-keys", str(keys)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port, timeout=0.3)
            return process, port
        except (dns.exception.Timeout, OSError):
            if process.poll() is not None:
                raise RuntimeError(f"gslb dns exited: {process.communicate()[1]}") from None
    process.kill()
    raise RuntimeError(f"gslb dns did not answer: {process.communicate()[1]}")


def stop_gslb_dns(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    return err


def soa_serial(port: int, zone: str = ZONE, timeout: float = 2) -> int:
    response = dns.query.udp(dns.message.make_query(zone, "SOA"), "127.0.0.1", port=port, timeout=timeout)
    assert response.rcode() == dns.rcode.NOERROR
    return int(response.answer[0][0].serial)


def name(text: str) -> dns.name.Name:
    return dns.name.from_text(text)
