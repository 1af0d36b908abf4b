"""etcd watch streams: the one that feeds the hub, and dedicated ones for old revisions.

Every process holds one etcd watch over the whole keyspace (`Feed`) and publishes
what it reads to its hub, which fans events out to any number of local watchers;
etcd sees one watcher per process, however many the API server serves. A watch
that starts before the oldest event in the hub's ring gets a stream of its own
(`StreamWatch`), which etcd replays from its history.

Both follow a stream across disconnects: when it breaks (etcd restarted, a
network blip) they reconnect from the revision after the last event they got, so
nothing is lost or repeated. When etcd compacted that revision meanwhile, the
gap cannot be filled: the watchers concerned fail with Compacted and their
clients relist.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .base import Compacted, Event, KeyValue, StoreError, Unavailable
from .etcd_client import EtcdClient, WatchStream, b64, kv_from, range_end
from .hub import Hub
from .watcher import QueueWatch

log = logging.getLogger(__name__)


def to_event(raw: dict) -> Event:
    kv, prev = raw["kv"], raw.get("prev_kv")
    previous = kv_from(prev) if prev else None
    if raw.get("type") == "DELETE":
        # etcd's DELETE carries only the key and the revision; the value it had
        # (which the interface promises) is in prev_kv.
        last = previous or KeyValue(kv_from(kv).key, b"", 0, 0)
        return Event("DELETE", KeyValue(last.key, last.value, last.create_revision,
                                        int(kv["mod_revision"])), previous)
    return Event("PUT", kv_from(kv), previous)


class _Follower:
    """Reads one watch from revision `after` on, reconnecting with back-off.

    `gone(after, compacted)` is called when etcd no longer has the revisions the
    watch needs; it returns True to carry on (after moving `after` on), False to stop.
    """

    def __init__(self, client: EtcdClient, key: str, name: str,
                 deliver: Callable[[list[Event]], None],
                 gone: Callable[[int, int], bool], after: int):
        self._client = client
        self._key = key
        self._deliver = deliver
        self._gone = gone
        self.after = after                    # the last revision delivered
        self._stream: WatchStream | None = None
        self._stopping = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def open(self) -> int:
        """Open the stream; 0, or etcd's compaction revision when it is too late."""
        # etcd answers a watch from a compacted revision with "created" and only
        # then "canceled", so ask first, with a read that fails the same way.
        compacted = self._client.compacted_below(self.after + 1)
        if compacted:
            return compacted
        stream = self._client.watch({"key": b64(self._key or "\0"),
                                     "range_end": range_end(self._key),
                                     "start_revision": self.after + 1, "prev_kv": True})
        first = next(stream, None)            # "created"
        if first is None or first.get("canceled"):
            stream.close()
            compacted = int((first or {}).get("compact_revision", 0))
            if compacted:
                return compacted
            reason = (first or {}).get("cancel_reason", "the stream ended")
            raise Unavailable(f"etcd refused the watch: {reason}")
        self._stream = stream
        if self._stopping:
            stream.close()
        return 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._stream is not None:
            self._stream.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(10)

    def _run(self) -> None:
        backoff = 0.05
        while not self._stopping:
            try:
                if self._stream is None:
                    compacted = self.open()
                    if compacted:
                        if not self._gone(self.after, compacted):
                            return
                        continue
                for result in self._stream:
                    backoff = 0.05
                    if result.get("canceled"):
                        break
                    events = [to_event(raw) for raw in result.get("events", ())]
                    if events:
                        self._deliver(events)
                        self.after = events[-1].kv.mod_revision
            except StoreError as exc:
                if not self._stopping:
                    log.warning("etcd watch on %r broke, reconnecting: %s", self._key, exc)
            except Exception:      # never let the thread die: its watchers would hang
                if not self._stopping:
                    log.exception("etcd watch on %r failed, reconnecting", self._key)
            if self._stream is not None:
                self._stream.close()
                self._stream = None
            self._wake.wait(backoff)
            backoff = min(backoff * 2, 2.0)


class Feed:
    """The whole-keyspace watch behind a hub."""

    def __init__(self, client: EtcdClient, hub: Hub):
        self._client = client
        self._hub = hub
        self._follower = _Follower(client, "", "supercache-etcd-feed", self._publish,
                                   self._gone, hub.revision)
        # Open before the store is handed out: a write (or compaction) made right
        # after opening must already be on its way to the hub.
        if self._follower.open():
            self._gone(hub.revision, 0)
        self._follower.start()

    def _publish(self, events: list[Event]) -> None:
        self._hub.publish(events, events[-1].kv.mod_revision)

    def _gone(self, after: int, compacted: int) -> bool:
        # Disconnected for longer than etcd keeps history: every local watcher has
        # a gap now. Fail them all and carry on from the present.
        current = int(self._client.call("kv/range", {"key": b64("\0"), "count_only": True})
                      ["header"]["revision"])
        self._hub.reset(current, Compacted(after, compacted))
        self._follower.after = current
        return True

    def close(self) -> None:
        self._follower.stop()


class StreamWatch(QueueWatch):
    """A watch with its own etcd stream, for a start older than the hub's ring."""

    def __init__(self, client: EtcdClient, prefix: str, from_revision: int,
                 max_pending: int, select: Callable[[Event], bool] | None = None):
        super().__init__(None, prefix, from_revision)
        self._max_pending = max_pending
        self._select = select
        self._follower = _Follower(client, prefix, "supercache-etcd-watch", self._feed,
                                   self._gone, from_revision)
        compacted = self._follower.open()     # Compacted now, not at the first next()
        if compacted:
            raise Compacted(from_revision, compacted)
        self._follower.start()

    def _gone(self, after: int, compacted: int) -> bool:
        self._fail(Compacted(after, compacted))
        return False

    def _feed(self, events: list[Event]) -> None:
        if self._select is not None:
            events = [event for event in events if self._select(event)]
        # Back-pressure instead of a lag: a slow consumer stops this thread reading,
        # and etcd (which buffers per watcher) copes with a slow stream.
        with self._cond:
            while len(self._pending) >= self._max_pending and not self._closed:
                self._cond.wait(1.0)
        self._push(events)

    def _pop(self) -> Event | None:
        event = super()._pop()
        if event is not None:
            self._cond.notify_all()    # room again for the feeding thread
        return event

    def close(self) -> None:
        super().close()
        self._follower.stop()
