"""TLS termination with certificates chosen by SNI per route (generated here), and the redirect."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from proxy.server import Listener
from proxy.tls import CertificateStore
from tests.proxy.conftest import members, raw_request, read_response, table


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(tmp: Path) -> tuple[Any, Any, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("test CA"))
        .issuer_name(_name("test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def make_leaf(tmp: Path, ca_key: Any, ca_cert: Any, host: str, *, ip: bool = False) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)) if ip else x509.DNSName(host)]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = tmp / f"{host}.pem", tmp / f"{host}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


async def test_sni_selects_each_tenants_certificate(tmp_path: Path, backends: Any, proxy_server: Any) -> None:
    ca_key, ca_cert, ca_path = make_ca(tmp_path)
    a_cert, a_key = make_leaf(tmp_path, ca_key, ca_cert, "a.test")
    b_cert, b_key = make_leaf(tmp_path, ca_key, ca_cert, "shop.b.test")
    backend = await backends("b")
    routes = [
        {"name": "a", "hosts": ["a.test"], "upstream": "u", "tls": {"cert_file": a_cert, "key_file": a_key},
         "redirect_https": True},
        {"name": "b", "hosts": ["*.b.test"], "upstream": "u",
         "tls": {"cert_file": b_cert, "key_file": b_key}},
    ]  # fmt: skip
    initial = table(routes, [{"name": "u", "members": members(backend)}])
    holder: dict[str, Any] = {}
    certificates = CertificateStore(lambda: holder["server"].table)
    server = await proxy_server(
        initial,
        listeners=[Listener("127.0.0.1", 0), Listener("127.0.0.1", 0, certificates.listening_context())],
    )
    holder["server"] = server
    plain_port, tls_port = server.bound[0][1], server.bound[1][1]
    client = ssl.create_default_context(cafile=str(ca_path))
    for host in ("a.test", "shop.b.test"):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", tls_port, ssl=client, server_hostname=host
        )
        peer = writer.get_extra_info("peercert")
        assert dict(item[0] for item in peer["subject"])["commonName"] == host
        writer.write(f"GET /x HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        status, _, body = await read_response(reader)
        assert status == 200 and b'"X-Forwarded-Proto": "https"' in body
        writer.close()
    # A name with no certificate (and no default): the handshake is refused.
    try:
        await asyncio.open_connection("127.0.0.1", tls_port, ssl=client, server_hostname="unknown.test")
        raise AssertionError("handshake should fail")
    except ssl.SSLError as exc:
        assert "UNRECOGNIZED_NAME" in str(exc).upper()
    except ConnectionResetError:
        pass  # the alert may arrive as a reset, depending on timing
    # Plain HTTP on a route that asks for it: a permanent redirect to https, the path kept.
    answer = await raw_request(
        plain_port, b"GET /p?q=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 308") and b"Location: https://a.test/p?q=1\r\n" in answer
    assert len(backend.requests) == 2


async def test_tls_to_upstreams_verified_against_the_configured_ca(
    tmp_path: Path, backends: Any, proxy_server: Any
) -> None:
    ca_key, ca_cert, ca_path = make_ca(tmp_path)
    cert, key = make_leaf(tmp_path, ca_key, ca_cert, "127.0.0.1", ip=True)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    backend = await backends("secure", ssl_context=server_context)
    routes = [{"name": "r", "hosts": ["h.test"], "upstream": "u", "retries": {"attempts": 0}}]
    pools = [{"name": "u", "tls": True, "members": members(backend)}]
    trusting = await proxy_server(table(routes, pools), upstream_ca=str(ca_path))
    answer = await raw_request(
        trusting.bound[0][1], b"GET /s HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200") and b'"backend": "secure"' in answer
    # A proxy that does not trust the upstream's CA refuses to talk to it.
    distrusting = await proxy_server(table(routes, pools))
    answer = await raw_request(
        distrusting.bound[0][1], b"GET /s HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 502") and b"CERTIFICATE_VERIFY_FAILED" in answer
    assert len(backend.requests) == 1
