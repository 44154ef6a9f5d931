"""Per-connection rate limit: a token bucket (60 a minute, bursts of 10) and a refusal counter."""

from __future__ import annotations

import time
from collections import deque


class TokenBucket:
    def __init__(self, rate_per_minute: float = 60, burst: int = 10, clock=time.monotonic) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self) -> bool:
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def retry_after(self) -> float:
        """Seconds until one token is available."""
        self._refill()
        return max(0.0, (1 - self.tokens) / self.rate)


class RefusalWindow:
    """Counts refusals over the last `window` seconds; a client over `limit` is closed (1008)."""

    def __init__(self, limit: int = 30, window: float = 60.0, clock=time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._times: deque[float] = deque()

    def add(self) -> bool:
        """Record a refusal; True when the client has now reached the limit."""
        now = self.clock()
        self._times.append(now)
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        return len(self._times) >= self.limit
