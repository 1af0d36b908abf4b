"""What only the SQLite backend promises: crash safety, bounded files, one owner."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from supernetes.controlplane.store import Compacted, StoreError, open_store
from supernetes.controlplane.store.compactor import Compactor
from supernetes.controlplane.store.sqlite import SqliteStore

# Writes in a loop from several threads, printing each write once it is
# acknowledged; it also compacts constantly, so a kill can land mid-compaction.
WRITER = textwrap.dedent("""
    import sys, threading
    from supernetes.controlplane.store import open_store

    store = open_store(f"sqlite://{sys.argv[1]}", compact_interval=0.05, max_revisions=300)
    out = threading.Lock()

    def say(*words):
        with out:
            print(*words, flush=True)

    def creates(n):
        i = 0
        while True:
            key = f"/keys/{sys.argv[2]}/{n}/{i}"
            say("create", key, store.create(key, b"value-%d" % i))
            i += 1

    def counter():
        key = f"/counter/{sys.argv[2]}"
        revision = store.create(key, b"0")
        i = 0
        while True:
            i += 1
            revision = store.update(key, b"%d" % i, revision)
            say("counter", key, revision, i)

    for n in range(4):
        threading.Thread(target=creates, args=(n,), daemon=True).start()
    counter()
""")


@pytest.mark.slow
def test_kill_9_while_writing_loses_no_acknowledged_write(tmp_path):
    path = tmp_path / "state.db"
    for round_ in range(3):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(round_)],
                                 stdout=subprocess.PIPE, text=True)
        lines, deadline = [], time.monotonic() + 15
        try:
            while len(lines) < 1500 and time.monotonic() < deadline:
                line = child.stdout.readline()
                assert line, f"writer died: exit {child.poll()}"
                lines.append(line)
        finally:
            os.kill(child.pid, signal.SIGKILL)
        # Lines already printed were acknowledged too: read them all. Each is one
        # write() below PIPE_BUF, so a line is whole or absent.
        lines += child.stdout.read().splitlines(keepends=True)
        child.stdout.close()
        child.wait()
        acked = [line.split() for line in lines if line.endswith("\n")]
        assert len(acked) >= 1500

        store = open_store(f"sqlite://{path}", compact_interval=0)
        try:
            counter_key, counted = None, 0
            for words in acked:
                if words[0] == "create":
                    kv = store.get(words[1])
                    assert kv is not None, f"acknowledged {words[1]} is lost"
                    assert kv.create_revision == int(words[2])
                else:
                    counter_key, counted = words[1], max(counted, int(words[3]))
            assert int(store.get(counter_key).value) >= counted
            assert store.revision() >= max(int(words[2]) for words in acked)
        finally:
            store.close()
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        check.close()


@pytest.mark.slow
def test_background_compaction_bounds_the_history_the_file_and_the_wal(tmp_path):
    path = tmp_path / "state.db"
    store = open_store(f"sqlite://{path}", compact_interval=0.05, max_revisions=500)
    value = os.urandom(1024)
    try:
        def updater(n):
            for i in range(1000):
                key = f"/pods/{n}/{i % 10}"
                if i < 10:
                    store.create(key, value)
                else:
                    store.update(key, value)

        threads = [threading.Thread(target=updater, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert store.revision() > 8000
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sqlite3.connect(path) as peek:
                history = peek.execute("SELECT COUNT(*) FROM log").fetchone()[0]
            peek.close()
            wal, size = os.path.getsize(f"{path}-wal"), os.path.getsize(path)
            if history <= 500 and wal < 1024 * 1024 and size < 3 * 1024 * 1024:
                break
            time.sleep(0.05)
        assert history <= 500
        assert wal < 1024 * 1024
        # 8,000 changes of 1 KiB with their previous values would be ~16 MiB.
        assert size < 3 * 1024 * 1024
        with pytest.raises(Compacted):
            store.watch("/pods/", 1)
    finally:
        store.close()


def test_compaction_by_age_keeps_exactly_the_retention_window(tmp_path):
    store = open_store(f"sqlite://{tmp_path}/state.db", compact_interval=0)
    compactor = Compactor(store, retention=60, max_revisions=0, interval=3600)
    try:
        store.create("/a", b"")
        now = time.monotonic()
        assert compactor.tick(now) == 0                  # nothing is a minute old
        kept_from = store.create("/b", b"")
        store.update("/a", b"x")
        assert compactor.tick(now + 61) == kept_from - 1  # the revision a minute ago
        with pytest.raises(Compacted):
            store.list("/", revision=kept_from - 2)
        assert len(store.list("/", revision=kept_from - 1)[0]) == 1
    finally:
        compactor.stop()
        store.close()


def test_a_second_owner_of_the_file_is_refused(tmp_path):
    first = open_store(f"sqlite://{tmp_path}/state.db")
    try:
        with pytest.raises(StoreError, match="in use by another process"):
            open_store(f"sqlite://{tmp_path}/state.db")
    finally:
        first.close()
    open_store(f"sqlite://{tmp_path}/state.db").close()   # free again once closed


def test_reopening_keeps_values_revisions_and_watchable_history(tmp_path):
    url = f"sqlite://{tmp_path}/state.db?compact_interval=0"
    store = open_store(url)
    start = store.revision()
    store.create("/a", b"1")
    last = store.update("/a", b"2")
    store.close()
    store = open_store(url)
    try:
        assert store.revision() == last
        assert store.get("/a").value == b"2"
        watch = store.watch("/", start)
        assert [watch.next(5).kv.value for _ in range(2)] == [b"1", b"2"]
        watch.close()
        assert store.create("/b", b"") == last + 1
    finally:
        store.close()


def test_a_watcher_that_stops_reading_catches_up_from_the_log(tmp_path):
    store = SqliteStore(str(tmp_path / "state.db"), compact_interval=0, ring_size=16,
                        max_pending=10)
    try:
        watch = store.watch("/k/", store.revision())
        written = [store.create(f"/k/{i}", b"") for i in range(2500)]
        # Far more than its queue, the ring and one page of history.
        received = [watch.next(5).kv.mod_revision for _ in range(2500)]
        assert received == written
        late = store.create("/k/late", b"")
        assert watch.next(5).kv.mod_revision == late
        watch.close()
    finally:
        store.close()


def test_writes_are_fsynced_on_commit_in_wal_mode(tmp_path):
    store = SqliteStore(str(tmp_path / "state.db"), compact_interval=0)
    try:
        conn = store._writer_conn
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)   # FULL
    finally:
        store.close()


def test_closed_store_refuses_work_with_unavailable(tmp_path):
    store = open_store(f"sqlite://{tmp_path}/state.db")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.create("/a", b"")
    with pytest.raises(StoreError, match="closed"):
        store.get("/a")
    with pytest.raises(StoreError, match="closed"):
        store.watch("/", 0)


def test_an_indexed_watch_replays_its_selection_from_the_log(tmp_path):
    store = SqliteStore(str(tmp_path / "state.db"), compact_interval=0, ring_size=16)
    store.add_index("node", lambda kv: kv.value.decode())
    try:
        start = store.revision()
        mine = [store.create(f"/pods/{i}", b"a" if i % 10 == 0 else b"b")
                for i in range(2500)]
        watch = store.watch("/pods/", start, index=("node", "a"))   # history pages
        assert [watch.next(5).kv.mod_revision for _ in range(250)] == mine[::10]
        assert watch.next(0.2) is None
        watch.close()
    finally:
        store.close()


def test_a_new_database_can_hand_free_pages_back(tmp_path):
    open_store(f"sqlite://{tmp_path}/state.db").close()
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)   # INCREMENTAL
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


# Runs in a mount namespace of its own (unshare), so the small tmpfs it fills
# can never outlive it or show on the host.
DISK_FULL = textwrap.dedent("""
    import os, sqlite3, subprocess, sys
    from supernetes.controlplane.store import Unavailable, open_store

    root = sys.argv[1]
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", root], check=True)
    with open(f"{root}/filler", "wb") as filler:
        filler.write(b"x" * 3 * 1024 * 1024)
    store = open_store(f"sqlite://{root}/state.db?compact_interval=0")
    acked, error = [], None
    for i in range(100):
        try:
            acked.append((f"/k/{i}", store.create(f"/k/{i}", os.urandom(64 * 1024))))
        except Unavailable as exc:
            error = exc
            break
    os.unlink(f"{root}/filler")
    after = store.create("/k/after", b"written once there was room again")
    lost = [key for key, revision in acked if store.get(key).mod_revision != revision]
    store.close()
    check = sqlite3.connect(f"{root}/state.db")
    print(len(acked), error, after - acked[-1][1], lost,
          check.execute("PRAGMA integrity_check").fetchone()[0], sep="|")
""")


@pytest.mark.root
def test_a_full_disk_fails_writes_cleanly_and_the_store_recovers(tmp_path):
    root = tmp_path / "small"
    root.mkdir()
    result = subprocess.run(["unshare", "--mount", sys.executable, "-c", DISK_FULL, str(root)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    acked, error, gap, lost, integrity = result.stdout.strip().split("|")
    assert int(acked) > 0
    assert "full" in error                    # "store write failed: database or disk is full"
    assert gap == "1"                          # the failed write took no revision
    assert lost == "[]"
    assert integrity == "ok"


@pytest.mark.slow
def test_the_wal_stays_bounded_while_readers_never_stop(tmp_path):
    # A checkpoint can restart the WAL only when no reader holds an older
    # snapshot; with reads always in flight, SQLite alone lets it grow with every
    # write (here to ~35 MiB).
    path = tmp_path / "state.db"
    store = open_store(f"sqlite://{path}", compact_interval=0)
    value = os.urandom(8192)
    stop, largest = threading.Event(), [0]

    def reader():
        while not stop.is_set():
            store.list("/pods/0/")
            with contextlib.suppress(FileNotFoundError):
                largest[0] = max(largest[0], os.path.getsize(f"{path}-wal"))

    def updater(n):
        for i in range(150):
            key = f"/pods/{n}/{i % 10}"
            if i < 10:
                store.create(key, value)
            else:
                store.update(key, value)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=updater, args=(n,)) for n in range(8)]
    try:
        for thread in readers + writers:
            thread.start()
        for thread in writers:
            thread.join()
    finally:
        stop.set()
        for thread in readers:
            thread.join()
        store.close()
    assert 0 < largest[0] < 12 * 1024 * 1024
