"""The consumer side of a watch: a queue that a Hub (or an etcd stream) fills.

A QueueWatch hands out events strictly in revision order: first the replay of
(start, D] that it was given when it registered (from the hub's ring, or read
page by page from the backend's history), then the live events pushed to it.
It never hands out an event twice, and it never holds more than `max_pending`
live events: past that it drops them and, once its consumer asks again,
registers anew from the last revision it handed out (see hub.py).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from .base import Compacted, Event, StoreError, Watch

if TYPE_CHECKING:
    from .hub import Hub

HISTORY_PAGE = 1000   # events per history read while replaying


class OutOfRing(Exception):
    """The ring no longer holds the start of a watch and the hub has no history."""

    def __init__(self, floor: int):
        super().__init__(f"the watch ring starts after revision {floor}")
        self.floor = floor


class QueueWatch(Watch):
    """A watcher fed by a Hub (or by any source calling _push/_fail)."""

    def __init__(self, hub: Hub | None, prefix: str, from_revision: int,
                 index: tuple[str, str] | None = None):
        self._hub = hub
        self.prefix = prefix
        self.index = index
        self.route = ((prefix, index[0]), index[1]) if index else ((prefix, None), None)
        self._cond = threading.Condition()
        self._replay: deque[Event] = deque()   # (start, replay_upto], replayed first
        self._replay_upto = 0                  # > position: more to read from history
        self._pending: deque[Event] = deque()  # pushed live events, newer than replay
        self._position = from_revision         # the last revision handed out
        self._lagged = False
        self._closed = False
        self._error: Exception | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def revision(self) -> int:
        with self._cond:
            busy = self._replay or self._pending or self._lagged or \
                self._replay_upto > self._position
            if busy or self._hub is None:
                return self._position
            return max(self._position, self._hub.delivered)

    def next(self, timeout: float | None = None) -> Event | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._cond:
                while True:
                    if self._error is not None:
                        raise self._error
                    if self._closed:
                        return None
                    event = self._pop()
                    if event is not None:
                        return event
                    if self._lagged or self._replay_upto > self._position:
                        break       # replay needs I/O: done below, outside the lock
                    if deadline is None:
                        self._cond.wait()
                    else:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return None
                        self._cond.wait(remaining)
            try:
                if self._lagged:
                    self._reattach()
                else:
                    self._read_more_history()
            except StoreError as exc:
                self._fail(exc)     # every later next() raises it too
                self.close()
                raise

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._hub is not None:
            self._hub._unregister(self)

    # -- internals ---------------------------------------------------------------

    def _pop(self) -> Event | None:
        while True:
            if self._replay:
                event = self._replay.popleft()
                # The ring and the history are by prefix only; live pushes are
                # already routed by index.
                if self.index and not self._hub._selects(self.index, event):
                    self._position = max(self._position, event.kv.mod_revision)
                    continue
            elif self._replay_upto > self._position:
                return None     # live events wait until the history is replayed
            elif self._pending:
                event = self._pending.popleft()
            else:
                return None
            # Skips live events at or below a start revision in the future.
            if event.kv.mod_revision > self._position:
                self._position = event.kv.mod_revision
                return event

    def _attach(self) -> None:
        """Register at the hub and queue the replay of (position, D]."""
        assert self._hub is not None
        upto, replay = self._hub._register(self)
        try:
            if replay is None:
                replay = self._hub._read_history(self.prefix, self._position, upto)
                more_upto = upto if len(replay) >= HISTORY_PAGE else 0
            else:
                more_upto = 0
        except BaseException:
            self._hub._unregister(self)
            raise
        with self._cond:
            self._replay.extend(replay)
            self._replay_upto = more_upto

    def _read_more_history(self) -> None:
        assert self._hub is not None
        page = self._hub._read_history(self.prefix, self._position, self._replay_upto)
        with self._cond:
            self._replay.extend(page)
            if len(page) < HISTORY_PAGE:
                self._replay_upto = 0

    def _reattach(self) -> None:
        assert self._hub is not None
        self._hub._unregister(self)
        with self._cond:
            self._lagged = False
            self._pending.clear()
            self._replay.clear()
            self._replay_upto = 0
        try:
            self._attach()
        except OutOfRing as exc:
            # Without a history to replay from, a consumer this slow must relist.
            raise Compacted(self._position, exc.floor + 1) from None

    def _push(self, events: list[Event]) -> None:
        with self._cond:
            if self._closed or self._lagged:
                return
            if self._hub is not None and len(self._pending) + len(events) > self._hub.max_pending:
                self._lagged = True
                self._pending.clear()
            else:
                self._pending.extend(events)
            self._cond.notify()

    def _fail(self, error: Exception) -> None:
        with self._cond:
            if self._error is None:
                self._error = error
            self._cond.notify_all()
