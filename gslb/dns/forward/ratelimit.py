"""Token buckets per client prefix (/24 for IPv4, /56 for IPv6) for forwarded queries. No I/O.

A prefix rather than an address, because a flood with spoofed sources varies the low bits; the
buckets live in a bounded dict that is cleared when full (a flood of prefixes then starts from
full buckets, which is the safe direction for legitimate clients).
"""

from __future__ import annotations

from ipaddress import IPv6Address, ip_address

__all__ = ["PrefixRateLimiter", "client_prefix"]

MAX_PREFIXES = 100_000


def client_prefix(client_ip: str) -> str:
    try:
        address = ip_address(client_ip.partition("%")[0])
    except ValueError:
        return client_ip
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is None:
            return f"{int(address) >> 72:x}/56"
        address = address.ipv4_mapped
    return f"{int(address) >> 8}/24"


class PrefixRateLimiter:
    def __init__(self, rate: float, burst: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("the rate limit must be positive")
        self.rate = rate
        self.burst = burst if burst > 0 else rate
        self._buckets: dict[str, tuple[float, float]] = {}  # prefix -> (tokens, at)
        self._prefix_of: dict[str, str] = {}

    def allow(self, client_ip: str, now: float) -> bool:
        prefix = self._prefix_of.get(client_ip)
        if prefix is None:
            if len(self._prefix_of) >= MAX_PREFIXES:
                self._prefix_of.clear()
            prefix = self._prefix_of[client_ip] = client_prefix(client_ip)
        tokens, at = self._buckets.get(prefix, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[prefix] = (tokens, now)
            return False
        if len(self._buckets) >= MAX_PREFIXES:
            self._buckets.clear()
        self._buckets[prefix] = (tokens - 1.0, now)
        return True
