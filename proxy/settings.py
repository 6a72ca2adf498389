"""Settings of one proxy process, parsed once at the edge and passed down."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProxySettings:
    max_header_bytes: int = 32 * 1024  # request line + headers; larger heads get 431 (414 for the URL)
    max_url_bytes: int = 8 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0  # a request head must arrive within this (slowloris): else 408
    keepalive_timeout: float = 75.0  # idle client connections between requests are closed after this
    upstream_idle_timeout: float = 30.0  # pooled idle upstream connections are closed after this
    max_pipeline: int = 16  # pipelined requests queued per connection before reading pauses
    replay_bytes: int = 64 * 1024  # request bodies up to this are kept so an idempotent request can retry
    tick: float = 0.25  # timeout sweep period (the granularity of every timeout)
    max_client_connections: int = 100_000
    node: str = "proxy"  # who reports passive ejections
    upstream_ca: str | None = None  # PEM bundle verifying upstreams of pools with tls: true (None: system)
