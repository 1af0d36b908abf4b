"""Group commit: the one thread that writes the SQLite store.

Callers (API server threads) queue an operation and block until it is durable.
The writer takes everything queued, applies it in one transaction in which each
successful change takes the next revision, COMMITs (one WAL fsync for the whole
batch), and only then wakes the callers and hands the batch's events to the
watch hub. While one batch is being fsynced the next one queues up, so batching
needs no timer and adds no latency when the store is idle.

An operation that fails its own check (KeyExists, RevisionConflict...) fails alone
and takes no revision; a failing COMMIT (disk full, I/O error) fails the whole
batch with Unavailable and nothing of it is acknowledged.

Maintenance (WAL checkpoint, handing free pages back) runs on this thread too,
between batches, because SQLite cannot checkpoint inside a transaction and this
connection is the only one that writes.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from .base import (
    Event,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionConflict,
    StoreError,
    Unavailable,
)

log = logging.getLogger(__name__)

MAX_BATCH = 1024
WAL_LIMIT = 8 * 1024 * 1024
COMPACT_CHUNK = 5000   # log rows deleted per transaction, so writes interleave

Publish = Callable[[list[Event], int], None]


class _Op:
    """One queued operation; its caller blocks in `wait` until the writer calls `finish`.

    The wake-up is a bare lock, taken at birth and released by the writer: one
    allocation and one futex, where an Event costs a Condition, its waiter lock
    and a notify, on every write of a busy server."""

    __slots__ = ("kind", "key", "value", "expected", "result", "error", "finished", "_wake")

    def __init__(self, kind: str, key: str, value: bytes, expected: int):
        self.kind = kind
        self.key = key
        self.value = value
        self.expected = expected
        self.result: object = None
        self.error: Exception | None = None
        self.finished = False
        self._wake = threading.Lock()
        self._wake.acquire()

    def finish(self) -> None:
        """Called once, by the writer thread, when the result or error is set."""
        self.finished = True
        self._wake.release()

    def wait(self) -> None:
        self._wake.acquire()


_STOP = _Op("stop", "", b"", 0)


class Writer:
    def __init__(self, conn: sqlite3.Connection, path: str, revision: int, publish: Publish,
                 quiesce: Callable[[], AbstractContextManager]):
        self._conn = conn
        self._wal = path + "-wal"
        self._quiesce = quiesce       # holds reads back while the WAL is emptied
        self.revision = revision      # the last committed revision
        self._publish = publish
        self._queue: queue.SimpleQueue[_Op] = queue.SimpleQueue()
        self._closing = False
        self._closing_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="supercache-writer", daemon=True)
        self._thread.start()

    def submit(self, kind: str, key: str = "", value: bytes = b"", expected: int = 0):
        """Queue one operation and wait until it is committed (or failed)."""
        op = _Op(kind, key, value, expected)
        with self._closing_lock:
            if self._closing:
                raise Unavailable("store is closed")
            self._queue.put(op)
        op.wait()
        if op.error is not None:
            raise op.error
        return op.result

    def close(self) -> None:
        """Commit what is queued, then stop the thread (the connection stays open)."""
        with self._closing_lock:
            if self._closing:
                return
            self._closing = True
            self._queue.put(_STOP)
        self._thread.join()

    # -- the writer thread -------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            writes = [op for op in batch if op.kind not in ("stop", "maintain")]
            if writes:
                try:
                    self._commit(writes)
                except Exception as exc:    # a bug here must not hang every caller
                    log.exception("store writer failed")
                    for op in writes:
                        if not op.finished:
                            op.error = Unavailable(f"store writer failed: {exc!r}")
                            op.finish()
            self._bound_wal()
            for op in batch:
                if op.kind == "maintain":
                    self._maintain(op)
            if batch[-1] is _STOP:
                return

    def _commit(self, ops: list[_Op]) -> None:
        conn = self._conn
        revision = self.revision
        events: list[Event] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            state = self._load([op.key for op in ops if op.kind != "compact"])
            for op in ops:
                if op.kind == "compact":
                    op.result = self._compact_chunk(op.expected)
                    continue
                try:
                    event = apply(op, revision + 1, state.get(op.key))
                except StoreError as exc:
                    op.error = exc
                    continue
                revision += 1
                events.append(event)
                state[op.key] = None if event.type == "DELETE" else event.kv
            if events:
                self._save(events, state)
                conn.execute("UPDATE meta SET value = ? WHERE name = 'revision'", (revision,))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("store commit failed: %s", exc)
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass    # SQLite may have rolled back itself (disk full, I/O error)
            for op in ops:
                if op.error is None:
                    op.error = Unavailable(f"store write failed: {exc}")
                    op.error.__cause__ = exc
                    op.result = None
            events, revision = [], self.revision
        self.revision = revision
        for op in ops:
            op.finish()
        if events:
            try:
                self._publish(events, revision)
            except Exception:   # a broken watcher must never stop the writer
                log.exception("publishing store events failed")

    # A batch is read and written with a handful of statements whatever its size:
    # the sqlite3 module releases the GIL around every statement step, and in a
    # busy server each release can cost the writer a whole switch interval (5 ms)
    # before it gets the GIL back.

    def _load(self, keys: list[str]) -> dict[str, KeyValue | None]:
        """The current rows of `keys` (one SELECT per 500 keys)."""
        state: dict[str, KeyValue | None] = dict.fromkeys(keys)
        for chunk in _chunks(list(state), 500):
            marks = ",".join("?" * len(chunk))
            for key, value, create, mod in self._conn.execute(
                    "SELECT key, value, create_revision, mod_revision FROM kv"
                    f" WHERE key IN ({marks})", chunk):
                state[key] = KeyValue(key, value, create, mod)
        return state

    def _save(self, events: list[Event], state: dict[str, KeyValue | None]) -> None:
        """Write the batch's final rows and its log entries."""
        touched = {event.kv.key for event in events}
        gone = [key for key in touched if state[key] is None]
        live = [state[key] for key in touched if state[key] is not None]
        for chunk in _chunks(gone, 500):
            self._conn.execute(f"DELETE FROM kv WHERE key IN ({','.join('?' * len(chunk))})",
                               chunk)
        _insert(self._conn, "INSERT INTO kv(key, value, create_revision, mod_revision)",
                [(kv.key, kv.value, kv.create_revision, kv.mod_revision) for kv in live],
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                " create_revision = excluded.create_revision,"
                " mod_revision = excluded.mod_revision")
        _insert(self._conn, "INSERT INTO log(revision, key, deleted, create_revision,"
                " prev_revision, value, prev_value)", [_log_row(event) for event in events])

    def _bound_wal(self) -> None:
        """Empty the WAL once it passes WAL_LIMIT, even while readers never stop.

        SQLite's automatic checkpoint copies the WAL into the database after each
        4 MiB, but only starts the file over when no reader is using it, which a
        busy server may never allow: the WAL then grows with every write (k3s's
        kine suffers exactly this). So hold new reads back, let the running ones
        finish, and TRUNCATE.
        """
        try:
            if os.path.getsize(self._wal) <= WAL_LIMIT:
                return
            with self._quiesce():
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except (OSError, sqlite3.Error) as exc:
            log.warning("store WAL checkpoint failed (will retry): %s", exc)

    def _compact_chunk(self, target: int) -> int:
        """Record the compaction revision and delete up to COMPACT_CHUNK log rows below it."""
        if target > self.revision:
            raise FutureRevision(target, self.revision)
        conn = self._conn
        conn.execute("UPDATE meta SET value = ? WHERE name = 'compact_revision' AND value < ?",
                     (target, target))
        return conn.execute(
            "DELETE FROM log WHERE revision IN"
            " (SELECT revision FROM log WHERE revision < ? ORDER BY revision LIMIT ?)",
            (target, COMPACT_CHUNK)).rowcount

    def _maintain(self, op: _Op) -> None:
        """Give free pages back to the file system and empty the WAL."""
        conn = self._conn
        try:
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            if free > pages // 4:
                # executescript() steps the pragma to the end; execute() would step
                # it once (it returns no rows), which frees a single page.
                conn.executescript(f"PRAGMA incremental_vacuum({free});")
            with self._quiesce():
                busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            op.result = not busy
        except sqlite3.Error as exc:
            op.error = Unavailable(f"store maintenance failed: {exc}")
            op.error.__cause__ = exc
        finally:
            op.finish()


def apply(op: _Op, revision: int, old: KeyValue | None) -> Event:
    """Check `op` against the key's current row; the change it makes at `revision`."""
    key = op.key
    if op.kind == "create":
        if old is not None:
            raise KeyExists(key)
        op.result = revision
        return Event("PUT", KeyValue(key, op.value, revision, revision))
    if old is None:
        raise KeyNotFound(key)
    if op.expected and op.expected != old.mod_revision:
        raise RevisionConflict(key, old.mod_revision)
    if op.kind == "update":
        op.result = revision
        return Event("PUT", KeyValue(key, op.value, old.create_revision, revision), old)
    if op.kind == "delete":
        op.result = (revision, old)
        return Event("DELETE", KeyValue(key, old.value, old.create_revision, revision), old)
    raise ValueError(f"unknown store operation {op.kind!r}")


def _log_row(event: Event) -> tuple:
    kv, prev = event.kv, event.prev
    if event.type == "DELETE":
        return (kv.mod_revision, kv.key, 1, kv.create_revision, prev.mod_revision, kv.value,
                None)
    if prev is None:
        return (kv.mod_revision, kv.key, 0, kv.create_revision, 0, kv.value, None)
    return (kv.mod_revision, kv.key, 0, kv.create_revision, prev.mod_revision, kv.value,
            prev.value)


def _insert(conn: sqlite3.Connection, head: str, rows: list[tuple], tail: str = "") -> None:
    """INSERT `rows` with one multi-row VALUES statement per 200 rows."""
    for chunk in _chunks(rows, 200):
        row = "(" + ",".join("?" * len(chunk[0])) + ")"
        conn.execute(f"{head} VALUES {','.join([row] * len(chunk))}{tail}",
                     [value for values in chunk for value in values])


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]
