"""One client's watch: newline-delimited JSON events streamed from the watch cache.

A watch starts either with the current state (resourceVersion unset or "0",
or sendInitialEvents=true: a synthetic ADDED per object first) or after a
revision N. From the cache's ring it then streams every event of its type
that its filter lets through, in revision order, with no gap and no
duplicate. An object that stops matching the filter becomes DELETED for this
watcher and one that starts matching becomes ADDED, as in Kubernetes.

A watcher that has caught up with the ring hands its socket to the dispatcher
(`fanout.py`), which writes each new event to every such watcher in one loop;
the request thread only keeps time (timeout, bookmarks, a vanished client) and
takes the stream back if its client reads too slowly.

When N is older than the ring holds (the server restarted, the client was away
long) the watch falls back to a store watch of its own from N, which the store
answers until N is compacted; then the client gets what Kubernetes sends: an
ERROR event carrying a 410 Expired Status, after which clients relist.

The stream ends at timeoutSeconds (default: a random 30-60 minutes, as
Kubernetes spreads its watch timeouts), when the client goes away (noticed
within `POLL` seconds of idleness), when the watcher falls further behind than
the ring holds, or when the server stops.
"""

from __future__ import annotations

import random
import select
import time
from collections.abc import Iterator

from ..store import base as store
from . import codec, errors, fanout, objects, tables
from .watchcache import CacheEvent

# Jitter from a generator of our own: the global one is the caller's (tests seed it).
_random = random.Random()

POLL = 5.0                    # idle seconds between checks for a vanished client
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


class WatchRequest:
    """What one watch asked for (built by the list/watch view)."""

    def __init__(self, rt, filter_, view, *, revision: int | None, initial: bool,
                 timeout: float | None, bookmarks: bool, initial_end_bookmark: bool,
                 socket=None, include: str = "Object", bookmark_interval: float = 60.0):
        self.rt = rt
        self.filter = filter_
        self.view = view
        self.revision = revision
        self.initial = initial
        self.timeout = timeout if timeout is not None else _random.uniform(1800, 3600)
        self.bookmarks = bookmarks
        self.initial_end_bookmark = initial_end_bookmark
        self.socket = socket
        self.include = include
        self.bookmark_interval = bookmark_interval


def _line(type_: str, data: bytes) -> bytes:
    return b'{"type":"' + type_.encode() + b'","object":' + data + b"}\n"


def error_line(exc: errors.ApiError) -> bytes:
    return _line("ERROR", codec.dumps(exc.status()))


class Streamer:
    def __init__(self, cacher, request: WatchRequest):
        self.cacher = cacher
        self.req = request
        self.rt = request.rt
        self.deadline = time.monotonic() + request.timeout
        self.last_revision = request.revision or 0

    # -- encoding ---------------------------------------------------------------

    def _encode(self, type_: str, data: bytes) -> bytes:
        view = self.req.view
        if view.table or view.partial:
            obj = codec.loads(data)
            if view.table:
                data = codec.dumps(tables.table(self.rt, [obj], self.req.include,
                                                view.table_version))
            else:
                data = codec.dumps(tables.partial(obj, view.table_version))
        return _line(type_, data)

    def _event_line(self, ev) -> bytes | None:
        choice = self._choose(ev)
        if choice is None:
            return None
        type_, from_prev = choice
        view = self.req.view
        if not (view.table or view.partial):
            return ev.line(type_, from_prev)
        return self._encode(type_, ev.prev_at_revision() if from_prev else ev.entry.data)

    def _choose(self, ev) -> tuple[str, bool] | None:
        """What this watcher sees of `ev`: (event type, whether the object is the
        previous state), or None. An object that stops matching becomes DELETED."""
        f = self.req.filter
        entry = ev.entry
        if f.everything:
            if ev.type == "DELETE":
                return "DELETED", False
            return ("MODIFIED" if ev.prev is not None else "ADDED"), False
        now_ok = f.matches(entry.namespace, entry.labels, entry.fields)
        if ev.type == "DELETE":
            return ("DELETED", False) if now_ok else None
        prev = ev.prev
        was_ok = prev is not None and f.matches(prev.namespace, prev.labels, prev.fields)
        if now_ok:
            return ("MODIFIED" if was_ok else "ADDED"), False
        if was_ok:
            return "DELETED", True
        return None

    def _bookmark_line(self, revision: int) -> bytes:
        return self._bookmark(revision)

    def _bookmark(self, revision: int, initial_end: bool = False) -> bytes:
        meta = {"resourceVersion": str(revision)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        obj = {"kind": self.rt.kind, "apiVersion": self.rt.api_version, "metadata": meta}
        return _line("BOOKMARK", codec.dumps(obj))

    # -- liveness -----------------------------------------------------------------

    def _client_gone(self) -> bool:
        sock = self.req.socket
        if sock is None:
            return False
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        # A watching client sends nothing: readable means EOF (or a TLS close).
        return bool(readable)

    # -- the stream -----------------------------------------------------------------

    def stream(self) -> Iterator[bytes]:
        # An empty first chunk makes the WSGI server send the headers now: a client
        # waits for them before it reads events, and the first may be minutes away.
        yield b""
        cache = self.cacher.for_type(self.rt)
        epoch = self.cacher.epoch
        with cache.cond:
            if self.req.initial:
                seq = cache.next_seq
                revision = max(self.cacher.revision, cache.last)
                entries = list(cache.state.values())
            else:
                seq = cache.seq_after(self.req.revision)
                entries = None
        if seq is None:
            yield from self._from_store()
            return
        if entries is not None:
            yield from self._initial(entries, revision)
        yield from self._follow(cache, seq, epoch)

    def _initial(self, entries, revision: int) -> Iterator[bytes]:
        f = self.req.filter
        entries.sort(key=lambda e: e.key)
        out = [self._encode("ADDED", e.data) for e in entries
               if f.everything or f.matches(e.namespace, e.labels, e.fields)]
        self.last_revision = revision
        if self.req.initial_end_bookmark:
            out.append(self._bookmark(revision, initial_end=True))
        if out:
            yield b"".join(out)

    def _fan_out_ok(self) -> bool:
        view = self.req.view
        return self.req.socket is not None and not (view.table or view.partial)

    def _park(self, cache, sub: fanout.Subscriber, epoch: int, next_bookmark: float):
        """Let the dispatcher write to this watcher; wake for the duties it cannot do.

        Returns (whether the stream goes on, next bookmark time).
        """
        sock = self.req.socket
        try:
            while True:
                now = time.monotonic()
                if (now >= self.deadline or self.cacher.stopped.is_set()
                        or self.cacher.epoch != epoch):
                    return False, next_bookmark
                if self.req.bookmarks and now >= next_bookmark:
                    sub.send_bookmark(cache, self.cacher, self._bookmark_line)
                    next_bookmark = now + self.req.bookmark_interval
                wait = min(self.deadline, next_bookmark if self.req.bookmarks
                           else self.deadline, now + POLL) - now
                if sub.wake.wait(max(wait, 0.0)):
                    sub.wake.clear()
                    if sub.state == fanout.Subscriber.FAILED:
                        return False, next_bookmark
                    if sub.state == fanout.Subscriber.LAGGING:
                        break
                elif self._client_gone():
                    return False, next_bookmark
        finally:
            fanout.unsubscribe(cache, sub)
            sub.close()
            with sub.lock:                  # the dispatcher is done with the socket
                try:
                    sock.setblocking(True)
                except OSError:
                    pass
        try:
            sock.sendall(sub.remainder)     # the chunk that did not fit, then on our own
        except OSError:
            return False, next_bookmark
        return True, next_bookmark

    def _follow(self, cache, seq: int, epoch: int) -> Iterator[bytes]:
        next_bookmark = time.monotonic() + self.req.bookmark_interval
        while True:
            send_bookmark = False
            sub = None
            with cache.cond:
                if seq == cache.next_seq and self._fan_out_ok() and \
                        self.cacher.epoch == epoch:
                    sub = fanout.Subscriber(self.req.socket, self, seq, self.last_revision)
                    self.req.socket.setblocking(False)
                    fanout.subscribe(cache, sub)
            if sub is not None:
                going_on, next_bookmark = self._park(cache, sub, epoch, next_bookmark)
                if not going_on:
                    return
                seq = sub.seq
                self.last_revision = max(self.last_revision, sub.last_revision)
                continue
            with cache.cond:
                while seq == cache.next_seq:
                    now = time.monotonic()
                    if (now >= self.deadline or self.cacher.stopped.is_set()
                            or self.cacher.epoch != epoch):
                        return
                    if self.req.bookmarks and now >= next_bookmark:
                        send_bookmark = True
                        break
                    wait = min(self.deadline, next_bookmark if self.req.bookmarks
                               else self.deadline, now + POLL) - now
                    if not cache.cond.wait(wait) and self._client_gone():
                        return
                if self.cacher.epoch != epoch:
                    return
                events = cache.events_from(seq)
                if events is None:        # fell behind the ring: end, the client resumes
                    return
                seq = cache.next_seq
                revision = max(self.cacher.revision, cache.last)
            out = []
            floor = self.last_revision
            for ev in events:
                if ev.revision <= floor:    # asked for a revision the cache had not reached
                    continue
                line = self._event_line(ev)
                if line is not None:
                    out.append(line)
            if events:
                self.last_revision = events[-1].revision
            if send_bookmark:
                self.last_revision = max(self.last_revision, revision)
                out.append(self._bookmark(self.last_revision))
                next_bookmark = time.monotonic() + self.req.bookmark_interval
            if out:
                yield b"".join(out)
            if time.monotonic() >= self.deadline:
                return

    def _from_store(self) -> Iterator[bytes]:
        """Serve a watch from a revision older than the ring, from the store itself."""
        prefix = objects.list_prefix(self.rt, self.req.filter.namespace)
        try:
            watch = self.cacher.store.watch(prefix, self.req.revision)
        except store.Compacted as exc:
            yield error_line(errors.expired(
                f"too old resource version: {exc.requested} ({exc.compacted})"))
            return
        except store.StoreError as exc:
            yield error_line(errors.from_store(exc, self.rt, ""))
            return
        cache = self.cacher.for_type(self.rt)
        try:
            while True:
                now = time.monotonic()
                if now >= self.deadline or self.cacher.stopped.is_set():
                    return
                event = watch.next(timeout=min(POLL, self.deadline - now))
                if event is None:
                    if watch.closed or self._client_gone():
                        return
                    continue
                entry = cache.make_entry(event.kv.key, event.kv.value, event.kv.mod_revision)
                prev = entry
                if event.type == "PUT":
                    prev = None if event.prev is None else cache.make_entry(
                        event.prev.key, event.prev.value, event.prev.mod_revision)
                line = self._event_line(CacheEvent(event.type, entry, prev))
                if line is not None:
                    yield line
        except store.Compacted as exc:
            yield error_line(errors.expired(
                f"too old resource version: {exc.requested} ({exc.compacted})"))
        except store.StoreError as exc:
            yield error_line(errors.from_store(exc, self.rt, ""))
        finally:
            watch.close()
