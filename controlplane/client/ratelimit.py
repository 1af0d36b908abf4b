"""How long to wait before trying again: backoff for loops, rate limiters for work queues.

`Backoff` is for one loop that keeps failing (an informer whose server is down):
exponential with jitter, capped, reset after a success.

The rate limiters answer "when may this key be retried?" for a work queue, with
client-go's semantics and defaults:

    ItemExponentialRateLimiter  per key: base * 2**failures, capped (5 ms .. 1000 s)
    BucketRateLimiter           for all keys together: a token bucket (10 qps, burst 100)
    MaxOfRateLimiter            the longest wait any of its limiters asks for

`when(key)` records a failure and returns the delay; `forget(key)` clears a key's
history after it succeeded; `num_requeues(key)` says how often it failed in a row.
"""

from __future__ import annotations

import random
import threading
import time

# Jitter from a generator of our own: the global one is the caller's (tests seed it).
_random = random.Random()


class Backoff:
    def __init__(self, initial: float = 0.8, maximum: float = 30.0, factor: float = 2.0,
                 jitter: float = 0.2):
        self.initial, self.maximum, self.factor, self.jitter = initial, maximum, factor, jitter
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * self.factor, self.maximum)
        return delay * (1 + _random.uniform(0, self.jitter))

    def reset(self) -> None:
        self._next = self.initial


class ItemExponentialRateLimiter:
    def __init__(self, base: float = 0.005, maximum: float = 1000.0):
        self.base, self.maximum = base, maximum
        self._failures: dict = {}
        self._lock = threading.Lock()

    def when(self, key) -> float:
        with self._lock:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
        # Cap the exponent too: 2**1000 is a float overflow, not a long wait.
        return min(self.base * 2 ** min(failures, 64), self.maximum)

    def forget(self, key) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def num_requeues(self, key) -> int:
        with self._lock:
            return self._failures.get(key, 0)


class BucketRateLimiter:
    """A token bucket: `burst` retries at once, then `qps` per second, over all keys."""

    def __init__(self, qps: float = 10.0, burst: int = 100):
        self.qps, self.burst = qps, burst
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def when(self, key) -> float:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
            self._last = now
            self._tokens -= 1
            # A negative balance is a reservation: the caller waits until it is repaid.
            return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, key) -> None:
        pass

    def num_requeues(self, key) -> int:
        return 0


class MaxOfRateLimiter:
    def __init__(self, *limiters):
        self.limiters = limiters

    def when(self, key) -> float:
        return max(limiter.when(key) for limiter in self.limiters)

    def forget(self, key) -> None:
        for limiter in self.limiters:
            limiter.forget(key)

    def num_requeues(self, key) -> int:
        return max(limiter.num_requeues(key) for limiter in self.limiters)


def default_controller_rate_limiter() -> MaxOfRateLimiter:
    """client-go's DefaultControllerRateLimiter: per-key 5 ms..1000 s, overall 10 qps/100."""
    return MaxOfRateLimiter(ItemExponentialRateLimiter(0.005, 1000.0), BucketRateLimiter(10, 100))
