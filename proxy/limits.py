"""Token buckets, the retry budget and outlier ejection: small state machines fed the time (pure)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


class TokenBucket:
    """`rate` tokens a second up to `burst`; take() spends one if there is one."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last = now

    def take(self, now: float) -> bool:
        tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return True
        self._tokens = tokens
        return False

    def full_at(self, now: float) -> float:
        """When the bucket is full again (buckets that are full can be forgotten)."""
        return self._last + (self.burst - self._tokens) / self.rate


class RetryBudget:
    """Retries allowed while they stay under `percent` of the requests of the last `window` seconds,
    plus `min_per_second` always: a struggling pool is not flooded with retries (Finagle/Linkerd)."""

    def __init__(self, percent: float, min_per_second: float, window: float = 10.0) -> None:
        self.percent = percent
        self.min_per_second = min_per_second
        self.window = window
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()

    def _trim(self, now: float) -> None:
        horizon = now - self.window
        for events in (self._requests, self._retries):
            while events and events[0] < horizon:
                events.popleft()

    def record_request(self, now: float) -> None:
        self._requests.append(now)
        if len(self._requests) > 100_000:  # bounded: the oldest request says nothing new
            self._requests.popleft()

    def try_retry(self, now: float) -> bool:
        self._trim(now)
        allowed = len(self._requests) * self.percent / 100.0 + self.min_per_second * self.window
        if len(self._retries) < allowed:
            self._retries.append(now)
            return True
        return False


@dataclass(slots=True)
class OutlierState:
    """Passive health of one member: ejected after consecutive 5xx or connect errors, for a time that
    doubles with each ejection (capped) and shrinks again while the member behaves."""

    consecutive_5xx: int = 0
    consecutive_errors: int = 0
    ejections: int = 0
    ejected_until: float = 0.0

    def ejected(self, now: float) -> bool:
        return now < self.ejected_until

    def success(self) -> None:
        self.consecutive_5xx = 0
        self.consecutive_errors = 0

    def server_error(self, limit: int) -> bool:
        """A 5xx answer; True when it crosses the limit (the caller decides whether to eject)."""
        self.consecutive_5xx += 1
        return self.consecutive_5xx >= limit

    def connect_error(self, limit: int) -> bool:
        self.consecutive_errors += 1
        return self.consecutive_errors >= limit

    def eject(self, now: float, base: float, cap: float) -> float:
        """Eject now; returns the duration."""
        duration = min(cap, base * 2**self.ejections)
        self.ejections += 1
        self.ejected_until = now + duration
        self.consecutive_5xx = 0
        self.consecutive_errors = 0
        return duration

    def forgive(self, now: float, base: float) -> None:
        """After a quiet spell as long as the base ejection, one doubling is forgotten."""
        if self.ejections and now > self.ejected_until + base:
            self.ejections -= 1
            self.ejected_until = now - base  # so the next forgiveness waits another base period
