"""The proxy's exception tree."""

from __future__ import annotations


class ProxyError(Exception):
    """Base of every error the proxy raises on purpose."""


class ConfigError(ProxyError):
    """The proxy cannot start as configured (the message says what to change)."""


class UpstreamUnavailable(ProxyError):
    """No member could take the request (all down, ejected or at their connection limit)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
