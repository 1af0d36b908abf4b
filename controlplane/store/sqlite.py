"""The embedded store: one SQLite file, owned by one process.

Reads run on a pool of connections (WAL lets them proceed while the writer
commits); every write goes through the group-commit writer (sqlite_writer.py);
watches are served by the in-process hub, which replays old revisions from the
`log` table (sqlite_schema.py). A background compactor keeps that log, the file
and its WAL bounded.

One process owns the file: the store takes an exclusive lock on `<path>.lock`,
because watchers in a second process would never hear of the first one's writes.
Several API servers sharing state is what the etcd backend is for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator

from .base import (
    Compacted,
    Event,
    FutureRevision,
    KeyValue,
    Store,
    StoreError,
    Unavailable,
    check_key,
)
from .compactor import Compactor
from .hub import Hub
from .sqlite_readers import ReaderPool
from .sqlite_schema import connect, ensure_schema, prefix_end, read_meta
from .sqlite_writer import COMPACT_CHUNK, Writer
from .watcher import QueueWatch


class SqliteStore(Store):
    local_reads = True

    def __init__(self, path: str, *, retention: float = 300.0, max_revisions: int = 50_000,
                 compact_interval: float = 30.0, ring_size: int = 4096,
                 max_pending: int = 10_000, max_readers: int = 8):
        self.path = os.path.abspath(path)
        self._closed = False
        self._lock_fd = _lock(self.path + ".lock")
        try:
            conn = connect(self.path, writer=True)
            ensure_schema(conn)
            meta = read_meta(conn)
        except sqlite3.Error as exc:
            os.close(self._lock_fd)
            raise Unavailable(f"cannot open store {self.path}: {exc}") from exc
        self._readers = ReaderPool(self.path, max_readers)
        self._close_lock = threading.Lock()
        self._compacted = meta["compact_revision"]
        self._hub = Hub(meta["revision"], self._history, ring_size=ring_size,
                        max_pending=max_pending)
        self._hub.compacted(self._compacted)
        self._writer_conn = conn
        self._writer = Writer(conn, self.path, meta["revision"], self._on_commit,
                              self._readers.quiesce)
        self._compactor = None
        if compact_interval > 0:
            self._compactor = Compactor(self, retention=retention, max_revisions=max_revisions,
                                        interval=compact_interval)

    # -- reads -------------------------------------------------------------------

    def get(self, key: str) -> KeyValue | None:
        with self._readers.read() as conn:
            row = conn.execute("SELECT value, create_revision, mod_revision FROM kv"
                               " WHERE key = ?", (key,)).fetchone()
        return None if row is None else KeyValue(key, row[0], row[1], row[2])

    def list(self, prefix: str, *, start_after: str | None = None, limit: int = 0,
             revision: int = 0) -> tuple[list[KeyValue], int]:
        # The state at R is today's rows, with each key changed after R replaced by
        # the value its first change after R replaced (or dropped, if that change
        # created it). At the current revision the `changed` set is simply empty.
        bounds, params = _key_range(prefix, start_after)
        sql = f"""
            WITH changed(key, first) AS (
                SELECT key, MIN(revision) FROM log
                WHERE revision > :rev AND {bounds} GROUP BY key)
            SELECT key, value, create_revision, mod_revision FROM kv
            WHERE {bounds} AND key NOT IN (SELECT key FROM changed)
            UNION ALL
            SELECT log.key, CASE WHEN log.deleted THEN log.value ELSE log.prev_value END,
                   log.create_revision, log.prev_revision
            FROM changed JOIN log ON log.revision = changed.first
            WHERE log.prev_revision > 0
            ORDER BY 1 LIMIT :limit"""
        with self._readers.read() as conn, _snapshot(conn):
            meta = read_meta(conn)
            current = meta["revision"]
            if revision == 0:
                revision = current
            elif revision > current:
                raise FutureRevision(revision, current)
            elif revision < meta["compact_revision"]:
                raise Compacted(revision, meta["compact_revision"])
            rows = conn.execute(sql, {**params, "rev": revision, "limit": limit or -1})
            items = [KeyValue(*row) for row in rows]
        return items, revision

    def revision(self) -> int:
        return self._writer.revision

    # -- writes ------------------------------------------------------------------

    def create(self, key: str, value: bytes) -> int:
        return self._writer.submit("create", check_key(key), bytes(value))

    def update(self, key: str, value: bytes, expected_revision: int = 0) -> int:
        return self._writer.submit("update", check_key(key), bytes(value), int(expected_revision))

    def delete(self, key: str, expected_revision: int = 0) -> tuple[int, KeyValue]:
        return self._writer.submit("delete", check_key(key), b"", int(expected_revision))

    def compact(self, revision: int) -> None:
        if revision > self.revision():
            raise FutureRevision(revision, self.revision())
        deleted, chunk = 0, COMPACT_CHUNK
        while chunk >= COMPACT_CHUNK:      # in chunks, so that writes interleave
            chunk = self._writer.submit("compact", expected=revision)
            deleted += chunk
        self._compacted = max(self._compacted, revision)
        self._hub.compacted(revision)
        if deleted:
            self._writer.submit("maintain")

    # -- watches -----------------------------------------------------------------

    def watch(self, prefix: str, from_revision: int, *,
              index: tuple[str, str] | None = None) -> QueueWatch:
        return self._hub.watch(prefix, from_revision, index)

    def add_index(self, name: str, function: Callable[[KeyValue], str | None]) -> None:
        self._hub.add_index(name, function)

    def _on_commit(self, events: list[Event], revision: int) -> None:
        self._hub.publish(events, revision)
        compactor = self._compactor
        if compactor and compactor.max_revisions and \
                revision - self._compacted > 2 * compactor.max_revisions:
            compactor.nudge()

    def _history(self, prefix: str, after: int, upto: int, limit: int) -> list[Event]:
        bounds, params = _key_range(prefix, None)
        with self._readers.read() as conn, _snapshot(conn):
            compacted = read_meta(conn)["compact_revision"]
            if after < compacted - 1:
                raise Compacted(after, compacted)
            rows = conn.execute(
                "SELECT revision, key, deleted, create_revision, prev_revision, value, prev_value"
                f" FROM log WHERE revision > :after AND revision <= :upto AND {bounds}"
                " ORDER BY revision LIMIT :limit",
                {**params, "after": after, "upto": upto, "limit": limit}).fetchall()
        return [_event(*row) for row in rows]

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self._compactor is not None:
            self._compactor.stop()
        self._hub.close()
        self._writer.close()
        # Readers first: the last connection to close checkpoints and removes the WAL.
        self._readers.close()
        self._writer_conn.close()
        os.close(self._lock_fd)

@contextlib.contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: every SELECT inside sees the same committed state."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def _key_range(prefix: str, start_after: str | None) -> tuple[str, dict[str, str]]:
    """A WHERE fragment (and its parameters) selecting keys under `prefix`."""
    if start_after is not None and start_after >= prefix:
        clauses, params = ["key > :low"], {"low": start_after}
    else:
        clauses, params = ["key >= :low"], {"low": prefix}
    end = prefix_end(prefix)
    if end is not None:
        clauses.append("key < :high")
        params["high"] = end
    return " AND ".join(clauses), params


def _event(revision: int, key: str, deleted: int, create_revision: int, prev_revision: int,
           value: bytes, prev_value: bytes | None) -> Event:
    if deleted:
        last = KeyValue(key, value, create_revision, prev_revision)
        return Event("DELETE", KeyValue(key, value, create_revision, revision), last)
    prev = None
    if prev_revision:
        prev = KeyValue(key, prev_value or b"", create_revision, prev_revision)
    return Event("PUT", KeyValue(key, value, create_revision, revision), prev)


def _lock(path: str) -> int:
    """Take the store's owner lock (released by the kernel when the process dies)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise StoreError(f"{path[:-5]} is in use by another process (pid {owner})") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
