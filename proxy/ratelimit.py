"""Per-route rate limiting with token buckets: per client address, per route or per tenant."""

from __future__ import annotations

from proxy.limits import TokenBucket
from proxy.table import Route

MAX_BUCKETS = 100_000


class RateLimiter:
    """Buckets live while they matter: full buckets are forgotten by `sweep`, and the table is
    bounded (a flood of new client addresses resets it rather than growing memory)."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def allow(self, route: Route, client: str, now: float) -> bool:
        spec = route.spec.rate_limit
        if spec is None:
            return True
        if spec.key == "client_address":
            key = (route.key, client)
        elif spec.key == "route":
            key = (route.key, "")
        else:
            # Shared by the tenant's routes that declare the same limit (one bucket per limit).
            key = ("tenant:" + route.tenant, f"{spec.requests_per_second}/{spec.burst}")
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != spec.requests_per_second or bucket.burst != spec.burst:
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
            bucket = self._buckets[key] = TokenBucket(spec.requests_per_second, spec.burst, now)
        return bucket.take(now)

    def sweep(self, now: float) -> None:
        for key in [key for key, bucket in self._buckets.items() if bucket.full_at(now) <= now]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
