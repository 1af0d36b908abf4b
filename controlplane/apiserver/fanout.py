"""Fan-out: the watch cache's dispatcher writes each event to every caught-up watcher.

Waking one thread per watcher for every event costs two thread (and GIL)
switches per delivery, which at 500 watchers is most of an event's latency. So
a watcher whose stream has caught up with the ring parks its request thread
and registers a `Subscriber`; the dispatcher thread (watchcache.py), right after
it appends an event, writes the event's pre-framed chunk to each subscriber's
socket itself, non-blocking: one loop, no thread switch.

A subscriber whose socket cannot take a chunk at once (a slow client) is
marked lagging and its request thread takes the stream back: it writes the
chunk that did not fit (for TLS, OpenSSL requires retrying the same write) and
continues from the ring at its own pace, as before. The request thread also
keeps the duties that need time: timeoutSeconds, bookmarks, noticing a client
that went away, and ending the stream when the server stops.

Locks: the dispatcher takes a type's `cond` (to append) and *then, after
releasing it,* each subscriber's `lock`; a request thread may take its
subscriber's `lock` and inside it the type's `cond`. Never the other way
around, so they cannot deadlock.
"""

from __future__ import annotations

import ssl
import threading


def chunk(line: bytes) -> bytes:
    """One HTTP/1.1 chunk (the response is chunked: gunicorn sent the headers)."""
    return b"%X\r\n%s\r\n" % (len(line), line)


class Subscriber:
    LIVE, LAGGING, FAILED, CLOSED = "live", "lagging", "failed", "closed"

    def __init__(self, sock, streamer, seq: int, floor: int):
        self.sock = sock
        self.streamer = streamer          # for the watcher's filter (`_choose`)
        self.seq = seq                    # the next ring position to deliver
        self.floor = floor                # skip events at or below this revision
        self.last_revision = floor        # the revision of the last event sent
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.state = self.LIVE
        self.remainder = b""              # a chunk the socket did not take

    def deliver(self, ev, seq: int) -> None:
        """Called by the dispatcher for the event at ring position `seq`."""
        with self.lock:
            if self.state != self.LIVE or self.seq != seq:
                return                    # registered after this event: it was replayed
            self.seq = seq + 1
            if ev.revision <= self.floor:
                return
            choice = self.streamer._choose(ev)
            if choice is None:
                return
            self.last_revision = ev.revision
            self._send(ev.frame(*choice))

    def send_bookmark(self, cache, cacher, line_for) -> None:
        """Send a bookmark if every appended event has been delivered (request thread)."""
        with self.lock:
            if self.state != self.LIVE:
                return
            with cache.cond:
                caught_up = self.seq == cache.next_seq
                revision = max(cacher.revision, cache.last)
            if caught_up:
                self.last_revision = max(self.last_revision, revision)
                self._send(chunk(line_for(self.last_revision)))

    def _send(self, data: bytes) -> None:
        """Non-blocking write of one chunk; called with `lock` held."""
        try:
            sent = self.sock.send(data)
        except (ssl.SSLWantWriteError, BlockingIOError):
            sent = 0
        except OSError:
            self.state = self.FAILED
            self.wake.set()
            return
        if sent < len(data):
            # OpenSSL wants a retried write to carry the same bytes again.
            self.remainder = data if isinstance(self.sock, ssl.SSLSocket) else data[sent:]
            self.state = self.LAGGING
            self.wake.set()

    def close(self) -> None:
        with self.lock:
            if self.state == self.LIVE:
                self.state = self.CLOSED


def subscribe(cache, sub: Subscriber) -> bool:
    """Register `sub` if no event is pending for it; called with `cache.cond` held."""
    if sub.seq != cache.next_seq:
        return False
    cache.subscribers = (*cache.subscribers, sub)
    return True


def unsubscribe(cache, sub: Subscriber) -> None:
    with cache.cond:
        cache.subscribers = tuple(s for s in cache.subscribers if s is not sub)
