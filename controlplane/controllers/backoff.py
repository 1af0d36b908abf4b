"""Per-key exponential back-off for retrying something that keeps failing.

A Job waits before replacing a failed pod, a DaemonSet before replacing a failed
daemon pod on a node: `base * 2^(n-1)` after the n-th failure in a row, capped at
`maximum`, measured from the last failure; a success forgets the key's history.
Times are monotonic, so a wall-clock jump neither shortens nor stretches a wait.
"""

from __future__ import annotations

import threading
import time


class KeyedBackoff:
    def __init__(self, base: float, maximum: float):
        self.base, self.maximum = base, maximum
        self._lock = threading.Lock()
        self._records: dict[str, tuple[int, float]] = {}

    def failed(self, key: str, count: int = 1, at: float | None = None) -> None:
        if count <= 0:
            return
        with self._lock:
            failures, _ = self._records.get(key, (0, 0.0))
            self._records[key] = (failures + count, time.monotonic() if at is None else at)

    def succeeded(self, key: str) -> None:
        self.forget(key)

    def remaining(self, key: str, at: float | None = None) -> float:
        """Seconds until the key may be retried (0 when it may now)."""
        with self._lock:
            failures, last = self._records.get(key, (0, 0.0))
        if failures == 0:
            return 0.0
        delay = min(self.base * 2 ** min(failures - 1, 32), self.maximum)
        return max(last + delay - (time.monotonic() if at is None else at), 0.0)

    def forget(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)
