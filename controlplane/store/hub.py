"""In-process watch fan-out: one publisher, many watchers, no polling.

A backend publishes every committed change exactly once, in revision order (the
SQLite writer after each group commit; for etcd, the thread that reads the one
whole-keyspace watch stream). The hub keeps the most recent events in a ring and
hands each event to the watchers whose prefix matches it; only those watchers are
woken, so hundreds of idle watchers cost nothing per write. A watcher may also
select on an index (add_index: say, a pod's node): the index function runs once
per change, and only the watchers of the values the key had before and after the
change get it.

A watcher starting from revision R registers under the hub's lock and learns D,
the last revision published. Events after D reach it by push; the events in
(R, D] it replays first, from the ring when the ring still holds them, otherwise
from the backend's history (SQLite's change log, read in pages). That split at D
is what makes a watch gapless and duplicate-free while writes go on. A watcher
whose consumer stops reading is not allowed to hoard events: past `max_pending`
it drops its queue and, once the consumer comes back, replays again from the last
revision it returned, exactly like a new watcher.

    Hub ──push──▶ QueueWatch (watcher.py) ◀── next(timeout) ── API thread
     ▲                 │ replay (R, D]
     │ publish         ▼
    backend       ring │ history(prefix, after, upto, limit)
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from .base import Event, KeyValue, StoreError, Unavailable
from .watcher import HISTORY_PAGE, OutOfRing, QueueWatch

# (prefix, after, upto, limit) -> up to `limit` events under prefix with
# after < revision <= upto, in order; raises Compacted when they are gone.
History = Callable[[str, int, int, int], list[Event]]

# A watcher's route: (prefix, index name or None) -> index value (None) -> watchers.
Routes = dict[tuple[str, str | None], dict[str | None, tuple[QueueWatch, ...]]]
IndexFunction = Callable[[KeyValue], "str | None"]


class Hub:
    def __init__(self, revision: int, history: History | None = None, *,
                 ring_size: int = 4096, max_pending: int = 10_000):
        self._lock = threading.Lock()
        self._history = history
        self._ring: deque[Event] = deque()
        self._ring_size = ring_size
        self.max_pending = max_pending
        self._floor = revision        # the ring holds every event newer than this
        self._revision = revision     # the last revision published
        self.delivered = revision     # every event up to here has been pushed
        # Replaced, never mutated, so publish() reads them without the lock.
        self._routes: Routes = {}
        self._indexes: dict[str, IndexFunction] = {}
        self._closed = False

    @property
    def revision(self) -> int:
        return self._revision

    def add_index(self, name: str, function: IndexFunction) -> None:
        with self._lock:
            self._indexes = {**self._indexes, name: function}

    def publish(self, events: list[Event], revision: int) -> None:
        """Hand out `events` (all newer than anything published before)."""
        with self._lock:
            if self._closed:
                return
            self._ring.extend(events)
            while len(self._ring) > self._ring_size:
                self._floor = self._ring.popleft().kv.mod_revision
            self._revision = revision
            routes, indexes = self._routes, self._indexes
        # Match once per prefix, not once per watcher: hundreds of watchers of
        # /registry/pods/ share one list. Indexed watchers get only the events
        # whose index value (before or after the change) is theirs.
        for (prefix, name), by_value in routes.items():
            matched = [event for event in events if event.kv.key.startswith(prefix)]
            if not matched:
                continue
            if name is None:
                for watcher in by_value[None]:
                    watcher._push(matched)
                continue
            batches: dict[QueueWatch, list[Event]] = {}
            for event in matched:
                for value in index_values(indexes[name], event):
                    for watcher in by_value.get(value, ()):
                        batches.setdefault(watcher, []).append(event)
            for watcher, batch in batches.items():
                watcher._push(batch)
        self.delivered = revision

    def compacted(self, revision: int) -> None:
        """The backend forgot history older than `revision`: so does the ring."""
        with self._lock:
            floor = revision - 1
            if floor > self._floor:
                self._floor = floor
                while self._ring and self._ring[0].kv.mod_revision <= floor:
                    self._ring.popleft()

    def reset(self, revision: int, error: Exception) -> None:
        """Continuity is lost (etcd compacted while we were disconnected): fail every
        watcher with `error` and start over at `revision`."""
        with self._lock:
            watchers = self._all_watchers()
            self._routes = {}
            self._ring.clear()
            self._floor = self._revision = self.delivered = revision
        for watcher in watchers:
            watcher._fail(error)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            watchers = self._all_watchers()
            self._routes = {}
        for watcher in watchers:
            watcher.close()

    def watch(self, prefix: str, from_revision: int,
              index: tuple[str, str] | None = None) -> QueueWatch:
        if index is not None and index[0] not in self._indexes:
            raise StoreError(f"no watch index named {index[0]!r}")
        watcher = QueueWatch(self, prefix, from_revision, index)
        watcher._attach()
        return watcher

    # -- used by QueueWatch ------------------------------------------------------

    def _register(self, watcher: QueueWatch) -> tuple[int, list[Event] | None]:
        """Register and return (D, the ring's events in (position, D]) or (D, None)
        when the ring does not reach back that far."""
        after, prefix = watcher._position, watcher.prefix
        with self._lock:
            if self._closed:
                raise Unavailable("store is closed")
            upto = self._revision
            if after < self._floor and self._history is None:
                raise OutOfRing(self._floor)
            route, value = watcher.route
            by_value = self._routes.get(route, {})
            by_value = {**by_value, value: (*by_value.get(value, ()), watcher)}
            self._routes = {**self._routes, route: by_value}
            if after < self._floor:
                return upto, None
            replay = []
            for event in reversed(self._ring):
                if event.kv.mod_revision <= after:
                    break
                if event.kv.key.startswith(prefix):
                    replay.append(event)
            replay.reverse()
            return upto, replay

    def _unregister(self, watcher: QueueWatch) -> None:
        route, value = watcher.route
        with self._lock:
            by_value = dict(self._routes.get(route, {}))
            group = tuple(w for w in by_value.get(value, ()) if w is not watcher)
            if group:
                by_value[value] = group
            else:
                by_value.pop(value, None)
            routes = dict(self._routes)
            if by_value:
                routes[route] = by_value
            else:
                routes.pop(route, None)
            self._routes = routes

    def _all_watchers(self) -> list[QueueWatch]:
        return [w for by_value in self._routes.values() for group in by_value.values()
                for w in group]

    def _read_history(self, prefix: str, after: int, upto: int) -> list[Event]:
        assert self._history is not None
        return self._history(prefix, after, upto, HISTORY_PAGE)

    def _selects(self, index: tuple[str, str], event: Event) -> bool:
        return index[1] in index_values(self._indexes[index[0]], event)

    def selector(self, index: tuple[str, str]) -> Callable[[Event], bool]:
        """The predicate of an indexed watch, for watchers the hub does not feed."""
        if index[0] not in self._indexes:
            raise StoreError(f"no watch index named {index[0]!r}")
        return lambda event: self._selects(index, event)


def index_values(function: IndexFunction, event: Event) -> set[str]:
    """The index values of the key before and after the change."""
    values = set()
    for kv in (event.kv, event.prev):
        if kv is not None and kv.value:
            try:
                value = function(kv)
            except Exception:        # an undecodable value is in no index
                value = None
            if value is not None:
                values.add(value)
    return values
