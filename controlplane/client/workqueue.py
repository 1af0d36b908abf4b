"""The work queue between informers and a controller's workers (client-go's workqueue).

Guarantees, which controllers are written against:
  * a key waiting in the queue is there once, however often it is added (dedup);
  * a key is never handed to two workers at once: a key added while a worker
    holds it is marked dirty and handed out again after that worker's `done()`;
  * FIFO among keys that are ready;
  * `add_after(key, delay)` delays a key; the earliest of several requested times
    wins; `add_rate_limited(key)` delays by the rate limiter (per-key exponential
    backoff by default), `forget(key)` resets that key's backoff after a success;
  * `shutdown()` wakes every worker; `get()` then returns None once nothing is
    left to hand out (keys already queued are still handed out first when drain
    is asked for).

Delayed keys wait in a heap that `get()` itself checks, so the queue needs no
thread of its own. `process_next` is the worker loop body of sample-controller:

    while queue.process_next(self.sync):
        pass
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

from .ratelimit import default_controller_rate_limiter

log = logging.getLogger(__name__)


class WorkQueue:
    def __init__(self, name: str = "", rate_limiter=None):
        self.name = name
        self.rate_limiter = rate_limiter or default_controller_rate_limiter()
        self._cond = threading.Condition()
        self._queue: deque = deque()
        self._dirty: set = set()
        self._processing: set = set()
        self._waiting: list = []           # heap of (ready_at, seq, key)
        self._ready_at: dict = {}          # key -> earliest ready_at among its heap entries
        self._seq = itertools.count()
        self._shutting_down = False
        self._drain = False

    # -- adding ----------------------------------------------------------------------

    def add(self, key: Hashable) -> None:
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return          # handed out again by done()
        self._queue.append(key)
        self._cond.notify()

    def add_after(self, key: Hashable, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            if self._shutting_down:
                return
            ready_at = time.monotonic() + delay
            current = self._ready_at.get(key)
            if current is not None and current <= ready_at:
                return
            self._ready_at[key] = ready_at
            heapq.heappush(self._waiting, (ready_at, next(self._seq), key))
            # A sleeping get() may now have to wake up sooner.
            self._cond.notify_all()

    def add_rate_limited(self, key: Hashable) -> None:
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: Hashable) -> None:
        self.rate_limiter.forget(key)

    def num_requeues(self, key: Hashable) -> int:
        return self.rate_limiter.num_requeues(key)

    # -- taking ----------------------------------------------------------------------

    def get(self, timeout: float | None = None):
        """The next key (now held by the caller until `done(key)`), or None when shut down.

        With `timeout`, None also after that many seconds with nothing to do."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._promote_ready()
                if self._queue and not (self._shutting_down and not self._drain):
                    key = self._queue.popleft()
                    self._processing.add(key)
                    self._dirty.discard(key)
                    return key
                if self._shutting_down:
                    return None
                now = time.monotonic()
                wait = None
                if self._waiting:
                    wait = max(0.0, self._waiting[0][0] - now)
                if deadline is not None:
                    left = deadline - now
                    if left <= 0:
                        return None
                    wait = left if wait is None else min(wait, left)
                self._cond.wait(wait)

    def _promote_ready(self) -> None:
        now = time.monotonic()
        while self._waiting and self._waiting[0][0] <= now:
            ready_at, _, key = heapq.heappop(self._waiting)
            if self._ready_at.get(key) == ready_at:
                del self._ready_at[key]
                self._add_locked(key)

    def done(self, key: Hashable) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify()
            if self._shutting_down:
                self._cond.notify_all()     # shutdown(drain=True) waits for this

    # -- the worker loop -------------------------------------------------------------

    def process_next(self, sync: Callable[[Hashable], None]) -> bool:
        """Take one key and sync it: success forgets its backoff, failure requeues it
        rate-limited. False once the queue has shut down."""
        key = self.get()
        if key is None:
            return False
        try:
            sync(key)
        except Exception as exc:
            log.warning("%s: syncing %r failed (retry %d): %s", self.name or "queue", key,
                        self.num_requeues(key) + 1, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            self.add_rate_limited(key)
        else:
            self.forget(key)
        finally:
            self.done(key)
        return True

    # -- stopping --------------------------------------------------------------------

    def shutdown(self, drain: bool = False, timeout: float | None = None) -> None:
        """Stop handing out keys. With `drain`, hand out what is queued and wait (up to
        `timeout`) until every key taken has been marked done."""
        with self._cond:
            self._shutting_down = True
            self._drain = drain
            self._waiting.clear()
            self._ready_at.clear()
            self._cond.notify_all()
            if drain:
                deadline = None if timeout is None else time.monotonic() + timeout
                while self._processing or self._queue:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    self._cond.wait(left)

    @property
    def shutting_down(self) -> bool:
        with self._cond:
            return self._shutting_down

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def pending(self) -> int:
        """Keys waiting for their delay to pass."""
        with self._cond:
            return len(self._ready_at)
