"""A token bucket: at most `rate` actions a second, `burst` at once.

The node lifecycle controller takes one token per node it taints NoExecute, one
bucket per zone, so that a zone losing many nodes at once sees them evicted at a
steady pace rather than all together. A rate of 0 stops the bucket entirely.
"""

from __future__ import annotations

import threading
import time


class TokenBucket:
    def __init__(self, rate: float, burst: int = 1):
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def take(self) -> bool:
        """Take a token if one is there."""
        with self._lock:
            if self.rate <= 0:
                return False
            self._refill(time.monotonic())
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self._refill(time.monotonic())
            self.rate = rate
