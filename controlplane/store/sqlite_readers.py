"""The read side of the SQLite store: a small pool of connections with a gate.

WAL lets any number of connections read while the one writer commits, but each
connection keeps its own page cache (2 MiB), so a server with hundreds of request
threads must not open hundreds of them: reads take tens of microseconds, and
`size` connections serve any number of threads.

The gate exists for the WAL. A checkpoint can only start the WAL file over once
no reader still uses a snapshot older than its end, which a busy server may never
allow by chance; the writer then closes the gate (`quiesce()`): new reads wait,
running ones finish (they are short), the checkpoint empties the WAL, the gate
opens. Readers are held up for milliseconds, once every few MiB of writes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator

from .base import Unavailable
from .sqlite_schema import connect


class ReaderPool:
    def __init__(self, path: str, size: int):
        self._path = path
        self._size = size
        self._gate = threading.Condition()
        self._reading = 0          # connections handed out
        self._waiting = 0          # threads waiting at the gate (notified only if any)
        self._draining = False     # the writer waits for reads to end
        self._closed = False
        self._idle: list[sqlite3.Connection] = []
        self._all: list[sqlite3.Connection] = []

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._gate:
            while not self._closed and (self._draining or self._reading >= self._size):
                self._wait()
            if self._closed:
                raise Unavailable("store is closed")
            self._reading += 1
            conn = self._idle.pop() if self._idle else None
        try:
            if conn is None:
                conn = connect(self._path, writer=False)
                with self._gate:
                    self._all.append(conn)
            yield conn
        except sqlite3.Error as exc:
            raise Unavailable(f"store read failed: {exc}") from exc
        finally:
            with self._gate:
                if conn is not None:
                    self._idle.append(conn)
                self._reading -= 1
                if self._waiting:
                    self._gate.notify_all()

    def _wait(self) -> None:
        self._waiting += 1
        try:
            self._gate.wait()
        finally:
            self._waiting -= 1

    @contextlib.contextmanager
    def quiesce(self) -> Iterator[None]:
        """Hold new reads back and wait for the running ones to end."""
        with self._gate:
            self._draining = True
            while self._reading:
                self._wait()
        try:
            yield
        finally:
            with self._gate:
                self._draining = False
                self._gate.notify_all()

    def close(self) -> None:
        """Refuse new reads and close every connection (running reads fail)."""
        with self._gate:
            self._closed = True
            self._gate.notify_all()
            connections = list(self._all)
        for conn in connections:
            conn.close()
