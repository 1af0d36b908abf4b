"""SQLite layout of the store and how its connections are opened.

Two tables and a little metadata:

    kv    the current value of every live key (what get() and list() read)
    log   one row per change, in revision order: the new value and the one it
          replaced. It serves watches from an old revision, and list() at an old
          revision (the state at R is the current state with every change after
          R undone). Compaction deletes its oldest rows.
    meta  the current revision and the compaction revision

Durability: WAL mode with synchronous=FULL, so a COMMIT returns only once the WAL
is fsynced; the writer batches many changes into one COMMIT (sqlite_writer.py).
auto_vacuum=INCREMENTAL lets compaction hand freed pages back to the file system.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 1

# The empty store is at revision 1 and the first write gets 2, as in etcd, so a
# resourceVersion "0" (which Kubernetes clients treat as "any") never names a state.
INITIAL_REVISION = 1

_SCHEMA = """
CREATE TABLE kv (
    key             TEXT PRIMARY KEY,
    value           BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    mod_revision    INTEGER NOT NULL
);
CREATE TABLE log (
    revision        INTEGER PRIMARY KEY,
    key             TEXT NOT NULL,
    deleted         INTEGER NOT NULL,   -- 1: value is the value the key had
    create_revision INTEGER NOT NULL,
    prev_revision   INTEGER NOT NULL,   -- mod_revision before the change, 0 on create
    value           BLOB NOT NULL,
    prev_value      BLOB                -- the value before an update, else NULL
);
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


def connect(path: str, *, writer: bool) -> sqlite3.Connection:
    """Open `path` in autocommit mode (transactions are explicit BEGIN/COMMIT)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                           timeout=30.0)
    if writer:
        # First of all: switching to WAL writes the file header, after which a
        # new database can no longer take auto_vacuum without a full VACUUM (on
        # an existing database this is a no-op).
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        # The writer is the only writer, so it waits only in checkpoints, which
        # give up and retry later rather than stall writes for long.
        conn.execute("PRAGMA busy_timeout=100")
        # After a checkpoint that empties the WAL, truncate the file to this size
        # instead of leaving it at its high-water mark.
        conn.execute(f"PRAGMA journal_size_limit={16 * 1024 * 1024}")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the tables in a new database; refuse one from a newer version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone() is None:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany("INSERT INTO meta(name, value) VALUES (?, ?)", [
                ("schema", SCHEMA_VERSION),
                ("revision", INITIAL_REVISION),
                ("compact_revision", 0),
            ])
        version = read_meta(conn)["schema"]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"store schema {version} is newer than this program's {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def read_meta(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT name, value FROM meta").fetchall())


def prefix_end(prefix: str) -> str | None:
    """The smallest string above every string that starts with `prefix`.

    SQLite compares TEXT as UTF-8 bytes, which orders like code points, so bumping
    the last code point that can be bumped gives the exclusive upper bound of a
    prefix scan that the primary-key index can serve. None: no upper bound.
    """
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            bumped = last + 1
            if 0xD800 <= bumped <= 0xDFFF:     # surrogates cannot be encoded
                bumped = 0xE000
            return "".join(chars) + chr(bumped)
    return None
