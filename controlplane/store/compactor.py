"""Background compaction: keep the history bounded in age and in size.

Every `interval` seconds the compactor notes the store's revision, then compacts
to the newest of:

  * the revision the store had `retention` seconds ago (what kube-apiserver does
    to etcd every five minutes), so a watch can resume after an outage that short;
  * the current revision minus `max_revisions`, so a burst of writes cannot grow
    the history (and the SQLite file, and its WAL) without limit.

A backend can `nudge()` it to run early, when it sees the history outgrow
`max_revisions` between two rounds. Compacting to a revision that some other
process (a second API server on the same etcd) already compacted is a no-op, so
several compactors can share one store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from .base import Store, StoreError

log = logging.getLogger(__name__)


class Compactor:
    def __init__(self, store: Store, *, retention: float, max_revisions: int,
                 interval: float):
        self._store = store
        self.retention = retention
        self.max_revisions = max_revisions
        self.interval = interval
        self.compacted = 0
        self._marks: deque[tuple[float, int]] = deque([(time.monotonic(), store.revision())])
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="supercache-compactor",
                                        daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stopping:
                return
            try:
                self.tick(time.monotonic())
            except StoreError as exc:
                log.warning("store compaction failed (will retry): %s", exc)

    def tick(self, now: float) -> int:
        """One round; returns the revision compacted to (0: nothing to do)."""
        current = self._store.revision()
        self._marks.append((now, current))
        # Compacting to T keeps the changes from T on.
        target = current - self.max_revisions + 1 if self.max_revisions else 0
        horizon = now - self.retention
        while len(self._marks) > 1 and self._marks[1][0] <= horizon:
            self._marks.popleft()
        if self._marks[0][0] <= horizon:
            target = max(target, self._marks[0][1])
        if target <= self.compacted:
            return 0
        self._store.compact(target)
        self.compacted = target
        return target
