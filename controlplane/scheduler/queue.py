"""The scheduling queue: which pending pod to try next, and when to try again.

Three places a waiting pod can be, as in kube-scheduler's PriorityQueue:

- active: ready now; highest `spec.priority` first, then first come;
- backoff: failed recently; ready again after `initial * 2**(attempts-1)` seconds,
  capped at `maximum`;
- unschedulable: fits nowhere and waits for the cluster to change. A cluster event
  that could make room (a node added or grown, labels or taints changed, a pod
  deleted or finished) moves them all back (to backoff if their backoff has not
  expired yet, else to active), and any pod parked longer than
  `max_in_unschedulable` goes back regardless.

A pod that failed while such an event arrived during its own attempt goes to backoff
rather than unschedulable, so the event is not lost (kube's moveRequestCycle).
Heaps are lazily cleaned: an entry moved or deleted leaves a stale tuple behind,
recognised by its stamp. Not thread-safe: only the scheduler loop uses it.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field

from .podinfo import PodInfo

ACTIVE, BACKOFF, UNSCHEDULABLE, IN_FLIGHT = "active", "backoff", "unschedulable", "in-flight"


@dataclass(eq=False)
class QueuedPod:
    info: PodInfo
    attempts: int = 0
    where: str = ACTIVE
    stamp: int = 0
    parked_at: float = 0.0         # when it entered unschedulable
    backoff_until: float = 0.0
    cycle: int = 0                 # scheduling cycle of its last attempt
    message: str = field(default="")


class SchedulingQueue:
    def __init__(self, initial_backoff: float = 1.0, max_backoff: float = 10.0,
                 max_in_unschedulable: float = 300.0, clock=time.monotonic):
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_in_unschedulable = max_in_unschedulable
        self.clock = clock
        self.entries: dict[str, QueuedPod] = {}
        self._active: list = []
        self._backoff: list = []
        self._parked: dict[str, QueuedPod] = {}     # unschedulable, oldest first
        self._stamps = itertools.count(1)
        self.scheduling_cycle = 0
        self._move_request_cycle = -1

    def __len__(self) -> int:
        return len(self.entries)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((ACTIVE, BACKOFF, UNSCHEDULABLE, IN_FLIGHT), 0)
        for entry in self.entries.values():
            counts[entry.where] += 1
        return counts

    # -- placing entries ----------------------------------------------------------------

    def _to_active(self, entry: QueuedPod) -> None:
        self._parked.pop(entry.info.key, None)
        entry.where, entry.stamp = ACTIVE, next(self._stamps)
        heapq.heappush(self._active, (-entry.info.priority, entry.stamp, entry))

    def _to_backoff(self, entry: QueuedPod) -> None:
        if entry.backoff_until <= self.clock():
            self._to_active(entry)
            return
        self._parked.pop(entry.info.key, None)
        entry.where, entry.stamp = BACKOFF, next(self._stamps)
        heapq.heappush(self._backoff, (entry.backoff_until, entry.stamp, entry))

    def _backoff_duration(self, attempts: int) -> float:
        return min(self.initial_backoff * 2 ** max(attempts - 1, 0), self.max_backoff)

    # -- informer side ------------------------------------------------------------------

    def add(self, info: PodInfo) -> None:
        entry = self.entries.get(info.key)
        if entry is not None:
            self.update(info)
            return
        entry = self.entries[info.key] = QueuedPod(info)
        self._to_active(entry)

    def update(self, info: PodInfo, spec_changed: bool = True) -> None:
        """A pending pod changed. If its spec changed while it waited as unschedulable,
        it may fit now: try it again (after its backoff)."""
        entry = self.entries.get(info.key)
        if entry is None:
            self.add(info)
            return
        entry.info = info
        if entry.where == UNSCHEDULABLE and spec_changed:
            self._to_backoff(entry)

    def delete(self, key: str) -> QueuedPod | None:
        self._parked.pop(key, None)
        return self.entries.pop(key, None)

    def move_all(self) -> int:
        """A cluster event may have made room: every unschedulable pod tries again."""
        self._move_request_cycle = self.scheduling_cycle
        parked = list(self._parked.values())
        for entry in parked:
            self._to_backoff(entry)
        return len(parked)

    # -- scheduler side -----------------------------------------------------------------

    def flush(self) -> None:
        """Backoff entries whose time has come become active; long-parked ones retry."""
        now = self.clock()
        while self._backoff and self._backoff[0][0] <= now:
            _, stamp, entry = heapq.heappop(self._backoff)
            if entry.stamp == stamp and self.entries.get(entry.info.key) is entry:
                self._to_active(entry)
        while self._parked:
            entry = next(iter(self._parked.values()))
            if now - entry.parked_at <= self.max_in_unschedulable:
                break
            self._to_backoff(entry)

    def pop(self) -> QueuedPod | None:
        while self._active:
            _, stamp, entry = heapq.heappop(self._active)
            if entry.stamp == stamp and self.entries.get(entry.info.key) is entry:
                entry.where = IN_FLIGHT
                entry.attempts += 1
                self.scheduling_cycle += 1
                entry.cycle = self.scheduling_cycle
                return entry
        return None

    def peek(self) -> QueuedPod | None:
        """The entry `pop` would return next, left in the queue."""
        while self._active:
            _, stamp, entry = self._active[0]
            if entry.stamp == stamp and self.entries.get(entry.info.key) is entry:
                return entry
            heapq.heappop(self._active)
        return None

    def next_wakeup(self) -> float | None:
        """Seconds until the next backoff expires (None: nothing is waiting on time)."""
        waits = []
        if self._backoff:
            waits.append(self._backoff[0][0] - self.clock())
        if self._parked:
            oldest = next(iter(self._parked.values()))
            waits.append(oldest.parked_at + self.max_in_unschedulable - self.clock())
        return max(min(waits), 0.0) if waits else None

    def done(self, key: str) -> None:
        """The pod is bound (or gone): it leaves the queue."""
        self.delete(key)

    def unschedulable(self, entry: QueuedPod, message: str) -> None:
        """The attempt found no node."""
        if self.entries.get(entry.info.key) is not entry:
            return
        entry.message = message
        entry.backoff_until = self.clock() + self._backoff_duration(entry.attempts)
        if self._move_request_cycle >= entry.cycle:
            self._to_backoff(entry)
        else:
            entry.where, entry.parked_at = UNSCHEDULABLE, self.clock()
            self._parked.pop(entry.info.key, None)
            self._parked[entry.info.key] = entry

    def retry(self, entry: QueuedPod) -> None:
        """The attempt failed for another reason (binding refused, API error): back off."""
        if self.entries.get(entry.info.key) is not entry:
            return
        entry.backoff_until = self.clock() + self._backoff_duration(entry.attempts)
        self._to_backoff(entry)
