"""Run a rule sync when something changed: soon, not too often, and at least now and then.

kube-proxy's BoundedFrequencyRunner, in small. Informer handlers call
`request()`, which only sets a flag; one thread runs `fn`:

  * at once when the last run is `min_interval` ago or more, else when it is:
    a burst of changes (a Deployment scaled to 100) costs a few rewrites, not
    one per event, and a single change reaches the kernel within about one
    `min_interval` plus the time of one rewrite;
  * at least every `max_interval`, asked or not, so a table that something
    else flushed comes back;
  * after a failure, again after a back-off (doubling up to `max_interval`).

A request that arrives while `fn` runs makes it run once more afterwards, so a
change is never lost between reading the state and writing the rules.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class SyncRunner:
    def __init__(self, fn: Callable[[], None], name: str, *, min_interval: float = 0.1,
                 max_interval: float = 30.0, retry_initial: float = 0.5):
        self.fn = fn
        self.name = name
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.retry_initial = retry_initial
        self.runs = 0
        self.failures = 0
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_run = float("-inf")

    def request(self) -> None:
        self._wanted.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        retry = 0.0
        while not self._stop.is_set():
            timeout = retry or self.max_interval
            self._wanted.wait(timeout)
            if self._stop.is_set():
                return
            wait = self._last_run + self.min_interval - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            self._wanted.clear()
            self._last_run = time.monotonic()
            try:
                self.fn()
                self.runs += 1
                retry = 0.0
            except Exception:
                self.failures += 1
                retry = min(self.max_interval, (retry * 2) or self.retry_initial)
                log.exception("%s failed; retrying in %.1f s", self.name, retry)
