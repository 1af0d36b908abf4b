"""The watch cache: one store watch feeding every watcher and cached list.

Like Kubernetes' cacher, the API server never opens a store watch per client.
At start it lists everything under `/registry/` once and then holds one store
watch on that prefix, in one thread. Each event is decoded once, given its
resourceVersion, re-encoded once, and appended to the ring buffer of its type;
the type's current state is updated beside it. Watchers (`watch.py`) read the
ring from the position matching their resourceVersion and sleep on the type's
condition between events, so N watchers cost N sleeping threads, not N store
watches. Lists with resourceVersion="0", and consistent lists once the cache
has caught up with the store's current revision, are served from the state.

Ordering argument (why no watcher misses or repeats an event): the dispatcher
is a single thread that, for each event, appends it to the ring under the type
lock *before* it advances `Cacher.revision`. So whoever reads, under the type
lock, the ring's end and then `Cacher.revision` R knows that every event of the
type with revision <= R is before that end; bookmarks and cached lists use R.

When no event comes for a while the dispatcher also advances `revision` to the
store watch's progress mark (`Watch.revision`), like etcd's progress notify.

If the store watch breaks, the dispatcher re-watches from the last revision it
saw; if that revision was compacted meanwhile it re-lists, replaces the state
and bumps `epoch`, which ends every open watch (clients resume from their last
resourceVersion, or relist after a 410, as they do with Kubernetes).
"""

from __future__ import annotations

import logging
import threading
import time

from ..store import base as store
from . import codec, fanout, objects, selection

log = logging.getLogger(__name__)

# Idle seconds after which the dispatcher asks the store watch how far it is
# known complete: writes outside /registry/ advance the store's revision without
# an event here, and a consistent list waits for the cache to reach that revision.
PROGRESS_EVERY = 0.05


class Entry:
    """One version of one object, in the forms the readers need."""

    __slots__ = ("data", "fields", "key", "labels", "name", "namespace", "revision")

    def __init__(self, key: str, data: bytes, revision: int, namespace: str, name: str,
                 labels: dict, fields: dict):
        self.key = key
        self.data = data              # JSON with metadata.resourceVersion set
        self.revision = revision
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.fields = fields

    def object(self) -> dict:
        return codec.loads(self.data)


class CacheEvent:
    __slots__ = ("deleted_prev", "entry", "lines", "prev", "revision", "type")

    def __init__(self, type_: str, entry: Entry, prev: Entry | None):
        self.type = type_             # "PUT" or "DELETE", as the store says
        self.entry = entry            # for DELETE: the last state, at the delete's revision
        self.prev = prev
        self.revision = entry.revision
        self.deleted_prev = None      # prev re-encoded at this revision, made on demand
        self.lines: dict[str, bytes] = {}   # watch lines, made once for all watchers

    def frame(self, watch_type: str, from_prev: bool = False) -> bytes:
        """The line as one HTTP chunk, for the dispatcher's fan-out (fanout.py)."""
        key = "chunk:" + watch_type + ("-prev" if from_prev else "")
        framed = self.lines.get(key)
        if framed is None:
            framed = self.lines[key] = fanout.chunk(self.line(watch_type, from_prev))
        return framed

    def line(self, watch_type: str, from_prev: bool = False) -> bytes:
        """`{"type":...,"object":...}\n` of this event, shared by every plain watcher."""
        key = watch_type + ("-prev" if from_prev else "")
        line = self.lines.get(key)
        if line is None:
            data = self.prev_at_revision() if from_prev else self.entry.data
            line = b'{"type":"%s","object":%s}\n' % (watch_type.encode(), data)
            self.lines[key] = line
        return line

    def prev_at_revision(self) -> bytes:
        """The previous state stamped with this event's revision (for DELETED)."""
        if self.deleted_prev is None:
            obj = codec.loads(self.prev.data)
            obj["metadata"]["resourceVersion"] = str(self.revision)
            self.deleted_prev = codec.dumps(obj)
        return self.deleted_prev


class TypeCache:
    """State and recent events of one resource type."""

    def __init__(self, rt, capacity: int):
        self.rt = rt
        self.capacity = capacity
        self.cond = threading.Condition()
        self.state: dict[str, Entry] = {}
        self.by_namespace: dict[str, dict[str, Entry]] = {}   # the same entries, per namespace
        self.ring: list[CacheEvent | None] = [None] * capacity
        self.next_seq = 0             # sequence number of the next event
        self.subscribers: tuple = ()  # caught-up plain watchers (fanout.Subscriber)
        self.oldest = 0               # every event with revision > oldest is in the ring
        self.last = 0                 # revision of the last event applied to this type

    def make_entry(self, kv_key: str, value: bytes, revision: int) -> Entry:
        obj = codec.loads(value)           # parsed for the labels and fields only
        meta = obj.get("metadata") or {}
        return Entry(kv_key, objects.with_revision(value, revision), revision,
                     meta.get("namespace", ""), meta.get("name", ""),
                     meta.get("labels") or {}, selection.field_values(self.rt, obj))

    def reset(self, entries: dict[str, Entry], revision: int) -> None:
        self.state = entries
        self.by_namespace = {}
        for key_, entry in entries.items():
            self.by_namespace.setdefault(entry.namespace, {})[key_] = entry
        self.ring = [None] * self.capacity
        self.next_seq = 0
        self.oldest = revision
        self.last = revision

    def apply(self, event: store.Event) -> tuple[CacheEvent, int, tuple]:
        """Apply one store event; return it, its ring position and who to fan it out to."""
        kv = event.kv
        entry = self.make_entry(kv.key, kv.value, kv.mod_revision)
        with self.cond:
            prev = self.state.get(kv.key)
            if event.type == "DELETE":
                self.state.pop(kv.key, None)
                self.by_namespace.get(entry.namespace, {}).pop(kv.key, None)
                if prev is None:      # never seen: nothing any watcher could miss
                    prev = entry
            else:
                self.state[kv.key] = entry
                self.by_namespace.setdefault(entry.namespace, {})[kv.key] = entry
            slot = self.next_seq % self.capacity
            evicted = self.ring[slot]
            if evicted is not None:
                self.oldest = evicted.revision
            cache_event = self.ring[slot] = CacheEvent(event.type, entry, prev)
            seq = self.next_seq
            self.next_seq += 1
            self.last = entry.revision
            subscribers = self.subscribers
            self.cond.notify_all()
        return cache_event, seq, subscribers

    def seq_after(self, revision: int) -> int | None:
        """The sequence number of the first event after `revision`; None if evicted.

        Called with `cond` held.
        """
        if revision < self.oldest:
            return None
        lo = max(0, self.next_seq - self.capacity)
        hi = self.next_seq
        while lo < hi:                # events are in revision order: bisect
            mid = (lo + hi) // 2
            if self.ring[mid % self.capacity].revision <= revision:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def events_from(self, seq: int) -> list[CacheEvent] | None:
        """Events from `seq` to the end; None when the ring has overwritten `seq`.

        Called with `cond` held.
        """
        if seq < self.next_seq - self.capacity:
            return None
        return [self.ring[s % self.capacity] for s in range(seq, self.next_seq)]


class Cacher:
    """All type caches, and the one thread that feeds them from the store."""

    def __init__(self, store_: store.Store, types, capacity: int = 4096):
        self.store = store_
        self.by_prefix: dict[str, TypeCache] = {}
        for rt in types:
            prefix = objects.type_prefix(rt)
            if prefix not in self.by_prefix:
                self.by_prefix[prefix] = TypeCache(rt, capacity)
        self.revision = 0
        self.epoch = 0
        self.ready = threading.Event()
        self.stopped = threading.Event()
        self.rev_cond = threading.Condition()
        self._watch: store.Watch | None = None
        self._thread: threading.Thread | None = None

    def for_type(self, rt) -> TypeCache:
        return self.by_prefix[objects.type_prefix(rt)]

    def _cache_of(self, key: str) -> TypeCache | None:
        # /registry/<plural>/... or /registry/<group>/<plural>/...
        parts = key.split("/", 4)
        if len(parts) < 4:
            return None
        return (self.by_prefix.get(f"/registry/{parts[2]}/")
                or self.by_prefix.get(f"/registry/{parts[2]}/{parts[3]}/"))

    def start(self) -> None:
        self._relist()
        self._thread = threading.Thread(target=self._run, name="watch-cache", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopped.set()
        watch = self._watch
        if watch is not None:
            watch.close()
        self._wake_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _wake_all(self) -> None:
        for cache in self.by_prefix.values():
            with cache.cond:
                cache.cond.notify_all()
            for subscriber in cache.subscribers:
                subscriber.wake.set()
        with self.rev_cond:
            self.rev_cond.notify_all()

    def _relist(self) -> None:
        items, revision = self.store.list(objects.ROOT)
        fresh: dict[TypeCache, dict[str, Entry]] = {c: {} for c in self.by_prefix.values()}
        for kv in items:
            cache = self._cache_of(kv.key)
            if cache is not None:
                fresh[cache][kv.key] = cache.make_entry(kv.key, kv.value, kv.mod_revision)
        for cache, entries in fresh.items():
            with cache.cond:
                cache.reset(entries, revision)
                cache.cond.notify_all()
        with self.rev_cond:
            self.epoch += 1
            self.revision = revision
            self.rev_cond.notify_all()
        self._wake_all()                  # open watches see the new epoch and end
        self.ready.set()

    def _run(self) -> None:
        backoff = 0.1
        while not self.stopped.is_set():
            try:
                self._watch = watch = self.store.watch(objects.ROOT, self.revision)
                while not self.stopped.is_set():
                    event = watch.next(timeout=PROGRESS_EVERY)
                    if event is not None:
                        self._dispatch(event)
                        backoff = 0.1
                    elif watch.closed:
                        break
                    else:
                        self._progress(watch.revision)
                if self.stopped.is_set():
                    return
                log.warning("store watch ended; re-watching from %d", self.revision)
            except store.Compacted:
                log.warning("watch cache fell behind compaction; re-listing")
                self._retry(self._relist)
            except store.StoreError as exc:
                log.warning("store watch failed (%s); retrying in %.1fs", exc, backoff)
                self.stopped.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception:  # a bug must not silently freeze every watch
                log.exception("watch cache dispatcher failed; re-listing")
                self.stopped.wait(backoff)
                self._retry(self._relist)

    def _retry(self, fn) -> None:
        delay = 0.1
        while not self.stopped.is_set():
            try:
                return fn()
            except store.StoreError as exc:
                log.warning("re-list failed (%s)", exc)
                self.stopped.wait(delay)
                delay = min(delay * 2, 5.0)

    def _dispatch(self, event: store.Event) -> None:
        cache = self._cache_of(event.kv.key)
        fan = cache.apply(event) if cache is not None else None
        with self.rev_cond:
            self.revision = event.kv.mod_revision
            self.rev_cond.notify_all()
        if fan is not None:
            cache_event, seq, subscribers = fan
            for subscriber in subscribers:
                subscriber.deliver(cache_event, seq)

    def _progress(self, revision: int) -> None:
        """The store says nothing under /registry/ happened up to `revision`."""
        if revision > self.revision:
            with self.rev_cond:
                self.revision = revision
                self.rev_cond.notify_all()

    def wait_for(self, revision: int, timeout: float) -> bool:
        """Wait until the cache has seen `revision`; False on timeout."""
        if self.revision >= revision:
            return True
        deadline = time.monotonic() + timeout
        with self.rev_cond:
            while self.revision < revision and not self.stopped.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.rev_cond.wait(left)
        return self.revision >= revision

    def fresh(self, timeout: float = 0.5) -> bool:
        """Catch up with the store's current revision (a consistent read from cache)."""
        return self.wait_for(self.store.revision(), timeout)

    def snapshot(self, rt, filter_: selection.Filter) -> tuple[list[Entry], int]:
        """The matching objects in key order, and the revision they are at."""
        cache = self.for_type(rt)
        with cache.cond:
            revision = max(self.revision, cache.last)
            name = filter_.match_name()
            if name is not None and filter_.namespace is not None:
                one = cache.state.get(objects.key(rt, filter_.namespace, name))
                candidates = [one] if one is not None else []
            elif filter_.namespace is not None:
                candidates = list(cache.by_namespace.get(filter_.namespace, {}).values())
            else:
                candidates = list(cache.state.values())
        if filter_.everything or (filter_.labels is None and not filter_.fields):
            matched = candidates          # only a namespace: the index did the filtering
        else:
            matched = [e for e in candidates
                       if filter_.matches(e.namespace, e.labels, e.fields)]
        matched.sort(key=lambda e: e.key)
        return matched, revision

    def namespace_exists(self, rt_namespace, name: str) -> Entry | None:
        return self.for_type(rt_namespace).state.get(objects.key(rt_namespace, None, name))
