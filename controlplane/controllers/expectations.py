"""Expectations: what a controller asked for and has not seen in its informer yet.

A ReplicaSet controller that creates 3 pods must not create 3 more on its next sync
just because its pod cache has not caught up. Before acting it records "I expect 3
creations" (or "I expect the deletion of these uids"); the pod informer's handlers
tick them off as the pods appear or disappear; `satisfied(key)` is False until they
have all been seen, and the sync then only refreshes status. Creations that failed
are ticked off by the controller itself (no event will come for them).

Expectations expire after `ttl` (5 minutes, as Kubernetes'), so a lost watch event
delays a controller, never wedges it. This is Kubernetes'
`UIDTrackingControllerExpectations`: deletions are tracked by pod uid, because the
same pod's deletion may be observed twice (its deletionTimestamp, then its removal).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

EXPECTATIONS_TTL = 300.0


@dataclass
class _Record:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    since: float = field(default_factory=time.monotonic)


class Expectations:
    def __init__(self, ttl: float = EXPECTATIONS_TTL):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}

    def satisfied(self, key: str) -> bool:
        with self._lock:
            record = self._records.get(key)
            if record is None:
                return True             # never set, or cleared: nothing in flight
            if record.adds <= 0 and not record.deletes:
                return True
            return time.monotonic() - record.since > self.ttl

    def expect_creations(self, key: str, count: int) -> None:
        with self._lock:
            self._records[key] = _Record(adds=count)

    def expect_deletions(self, key: str, uids) -> None:
        with self._lock:
            self._records[key] = _Record(deletes=set(uids))

    def expect(self, key: str, creations: int, deletion_uids) -> None:
        """Both at once (a DaemonSet sync may create on some nodes and delete on others)."""
        with self._lock:
            self._records[key] = _Record(adds=creations, deletes=set(deletion_uids))

    def creation_observed(self, key: str, count: int = 1) -> None:
        with self._lock:
            record = self._records.get(key)
            if record is not None:
                record.adds -= count

    def deletion_observed(self, key: str, uid: str) -> None:
        with self._lock:
            record = self._records.get(key)
            if record is not None:
                record.deletes.discard(uid)

    def delete(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)

    def pending(self, key: str) -> tuple[int, int]:
        """(creations, deletions) still expected: for logs and tests."""
        with self._lock:
            record = self._records.get(key)
            return (max(record.adds, 0), len(record.deletes)) if record else (0, 0)
