"""TLS termination: one listening context whose SNI callback picks each tenant's certificate.

Certificates come from the route table (routes reference PEM files); contexts are built on first
use and cached by file and modification time, so a renewed certificate is picked up by the next
handshake without a restart. A name with no certificate gets the default one (--tls-cert), or
the handshake fails with unrecognized_name.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable

from proxy.errors import ConfigError
from proxy.table import RouteTable

log = logging.getLogger(__name__)

MAX_CONTEXTS = 10_000


def _server_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context


class CertificateStore:
    def __init__(self, table: Callable[[], RouteTable], default: tuple[str, str] | None = None) -> None:
        self._table = table
        self._contexts: dict[tuple[str, str], tuple[float, ssl.SSLContext]] = {}
        self.default = self._load(*default) if default is not None else None

    def _load(self, cert_file: str, key_file: str) -> ssl.SSLContext:
        key = (cert_file, key_file)
        try:
            mtime = max(os.stat(cert_file).st_mtime, os.stat(key_file).st_mtime)
        except OSError as exc:
            raise ConfigError(
                f"cannot read certificate {cert_file} / key {key_file}: {exc.strerror}"
            ) from None
        cached = self._contexts.get(key)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        context = _server_context()
        try:
            context.load_cert_chain(cert_file, key_file)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"certificate {cert_file} with key {key_file} does not load: {exc}") from None
        if len(self._contexts) >= MAX_CONTEXTS:
            self._contexts.clear()
        self._contexts[key] = (mtime, context)
        return context

    def listening_context(self) -> ssl.SSLContext:
        context = _server_context()
        if self.default is not None:
            context = self.default
        context.sni_callback = self._select  # type: ignore[assignment]
        return context

    def _select(self, sslobj: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext) -> int | None:
        found = self._table().certificate_for(server_name.lower().rstrip(".")) if server_name else None
        if found is None:
            return None if self.default is not None else ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        try:
            sslobj.context = self._load(*found)
        except ConfigError as exc:
            log.error("TLS handshake for %s: %s", server_name, exc)
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None
