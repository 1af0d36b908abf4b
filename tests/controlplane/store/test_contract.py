"""The store contract, run against every backend (SQLite and a real etcd)."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from supernetes.controlplane.store import (
    Compacted,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    RevisionConflict,
    StoreError,
)


def take(watch, count, timeout=10.0):
    """The next `count` events, failing the test if they do not come in time."""
    events = []
    for _ in range(count):
        event = watch.next(timeout)
        assert event is not None, f"got only {len(events)} of {count} events: {events}"
        events.append(event)
    return events


def summary(events):
    return [(e.type, e.kv.key, e.kv.value, e.kv.mod_revision) for e in events]


# -- reads and writes ------------------------------------------------------------

def test_create_returns_the_revision_get_then_reports(store, prefix):
    revision = store.create(prefix + "a", b"one")
    kv = store.get(prefix + "a")
    assert (kv.key, kv.value, kv.create_revision, kv.mod_revision) == \
        (prefix + "a", b"one", revision, revision)
    assert store.revision() == revision
    assert store.get(prefix + "missing") is None


def test_every_write_takes_the_next_global_revision(store, prefix):
    first = store.create(prefix + "a", b"1")
    second = store.create(prefix + "b", b"2")
    third = store.update(prefix + "a", b"3")
    fourth, _ = store.delete(prefix + "b")
    assert [second, third, fourth] == [first + 1, first + 2, first + 3]
    assert store.revision() == fourth
    kv = store.get(prefix + "a")
    assert (kv.create_revision, kv.mod_revision) == (first, third)


def test_values_are_bytes_kept_exactly(store, prefix):
    blob = bytes(range(256)) * 40
    store.create(prefix + "bin", blob)
    store.create(prefix + "empty", b"")
    store.create(prefix + "ключ/ü", b"unicode key")
    assert store.get(prefix + "bin").value == blob
    assert store.get(prefix + "empty").value == b""
    assert store.get(prefix + "ключ/ü").value == b"unicode key"


def test_create_of_an_existing_key_fails_and_changes_nothing(store, prefix):
    revision = store.create(prefix + "a", b"first")
    with pytest.raises(KeyExists):
        store.create(prefix + "a", b"second")
    assert store.get(prefix + "a").value == b"first"
    assert store.revision() == revision


def test_update_with_a_stale_revision_conflicts_and_names_the_current_one(store, prefix):
    created = store.create(prefix + "a", b"v1")
    updated = store.update(prefix + "a", b"v2", created)
    with pytest.raises(RevisionConflict) as caught:
        store.update(prefix + "a", b"v3", created)
    assert caught.value.current == updated
    assert store.get(prefix + "a").value == b"v2"
    assert store.update(prefix + "a", b"v3", updated) == updated + 1


def test_update_without_a_revision_overwrites_but_never_creates(store, prefix):
    store.create(prefix + "a", b"v1")
    store.update(prefix + "a", b"v2")
    assert store.get(prefix + "a").value == b"v2"
    with pytest.raises(KeyNotFound):
        store.update(prefix + "missing", b"x")
    with pytest.raises(KeyNotFound):
        store.update(prefix + "missing", b"x", 5)
    assert store.get(prefix + "missing") is None


def test_delete_is_guarded_like_update_and_returns_the_last_value(store, prefix):
    created = store.create(prefix + "a", b"v1")
    updated = store.update(prefix + "a", b"v2")
    with pytest.raises(RevisionConflict):
        store.delete(prefix + "a", created)
    assert store.get(prefix + "a") is not None
    revision, last = store.delete(prefix + "a", updated)
    assert revision == updated + 1
    assert (last.value, last.create_revision, last.mod_revision) == (b"v2", created, updated)
    assert store.get(prefix + "a") is None
    with pytest.raises(KeyNotFound):
        store.delete(prefix + "a")


def test_a_deleted_key_can_be_created_again_with_a_new_create_revision(store, prefix):
    store.create(prefix + "a", b"v1")
    store.delete(prefix + "a")
    again = store.create(prefix + "a", b"v2")
    assert store.get(prefix + "a").create_revision == again


# -- lists -----------------------------------------------------------------------

def test_list_returns_keys_under_the_prefix_in_key_order(store, prefix):
    for key in ["b", "a/2", "a/10", "a/1", "c"]:
        store.create(prefix + key, key.encode())
    store.create(prefix[:-1] + "x/outside", b"")   # same string start, other "dir"
    items, revision = store.list(prefix + "a/")
    assert [kv.key for kv in items] == [prefix + k for k in ["a/1", "a/10", "a/2"]]
    assert revision == store.revision()
    everything, _ = store.list(prefix)
    assert [kv.key[len(prefix):] for kv in everything] == ["a/1", "a/10", "a/2", "b", "c"]


def test_list_pages_stay_one_snapshot_while_writes_go_on(store, prefix):
    keys = [f"{prefix}{i:02d}" for i in range(10)]
    for key in keys:
        store.create(key, b"old")
    page, at = store.list(prefix, limit=4)
    assert [kv.key for kv in page] == keys[:4]
    # Writes between pages: none of them may show in the later pages.
    store.update(keys[5], b"new")
    store.delete(keys[6])
    store.create(prefix + "05a", b"new key")
    store.delete(keys[2])     # already returned; must not shift the pages
    seen = list(page)
    while len(page) == 4:
        page, revision = store.list(prefix, start_after=seen[-1].key, limit=4, revision=at)
        assert revision == at
        seen += page
    assert [kv.key for kv in seen] == keys
    assert {kv.value for kv in seen} == {b"old"}
    current, _ = store.list(prefix)
    assert [kv.key for kv in current] == \
        [keys[0], keys[1], keys[3], keys[4], keys[5], prefix + "05a", keys[7], keys[8], keys[9]]


def test_list_at_an_old_revision_shows_the_old_state(store, prefix):
    store.create(prefix + "a", b"a1")
    store.create(prefix + "b", b"b1")
    _, before = store.list(prefix)
    store.update(prefix + "a", b"a2")
    store.delete(prefix + "b")
    store.create(prefix + "c", b"c1")
    items, revision = store.list(prefix, revision=before)
    assert revision == before
    assert [(kv.key[len(prefix):], kv.value) for kv in items] == [("a", b"a1"), ("b", b"b1")]
    assert all(kv.mod_revision <= before for kv in items)


def test_list_at_a_future_revision_is_refused(store, prefix):
    with pytest.raises(FutureRevision):
        store.list(prefix, revision=store.revision() + 1000)


# -- watches ---------------------------------------------------------------------

def test_watch_replays_from_a_revision_then_streams_without_gap_or_duplicate(store, prefix):
    start = store.revision()
    history = [store.create(f"{prefix}k{i}", b"%d" % i) for i in range(5)]
    watch = store.watch(prefix, start)
    try:
        live = []
        for i in range(5):
            live.append(store.update(f"{prefix}k{i}", b"again"))
        revisions = [e.kv.mod_revision for e in take(watch, 10)]
        assert revisions == history + live
        assert watch.next(0.3) is None
    finally:
        watch.close()


def test_watch_from_a_middle_revision_skips_what_came_before(store, prefix):
    revisions = [store.create(f"{prefix}k{i}", b"") for i in range(6)]
    watch = store.watch(prefix, revisions[2])
    try:
        assert [e.kv.mod_revision for e in take(watch, 3)] == revisions[3:]
    finally:
        watch.close()


def test_watch_sees_only_its_prefix(store, prefix):
    start = store.revision()
    store.create(prefix + "pods/a", b"")
    store.create(prefix + "nodes/a", b"")
    store.create(prefix + "pods/b", b"")
    watch = store.watch(prefix + "pods/", start)
    try:
        assert [e.kv.key for e in take(watch, 2)] == [prefix + "pods/a", prefix + "pods/b"]
        assert watch.next(0.3) is None
    finally:
        watch.close()


def test_watch_events_carry_the_previous_value_and_the_deleted_one(store, prefix):
    start = store.revision()
    created = store.create(prefix + "a", b"v1")
    updated = store.update(prefix + "a", b"v2")
    deleted, _ = store.delete(prefix + "a")
    watch = store.watch(prefix, start)
    try:
        put, update, delete = take(watch, 3)
    finally:
        watch.close()
    assert (put.type, put.kv.value, put.prev) == ("PUT", b"v1", None)
    assert (update.type, update.kv.value, update.kv.create_revision) == ("PUT", b"v2", created)
    assert (update.prev.value, update.prev.mod_revision) == (b"v1", created)
    assert (delete.type, delete.kv.value, delete.kv.mod_revision) == ("DELETE", b"v2", deleted)
    assert (delete.prev.value, delete.prev.mod_revision) == (b"v2", updated)


def test_watch_resumes_after_a_reconnect_from_the_last_seen_revision(store, prefix):
    start = store.revision()
    first = store.watch(prefix, start)
    store.create(prefix + "a", b"")
    store.create(prefix + "b", b"")
    seen = take(first, 1)
    first.close()                    # the client went away after one event
    store.create(prefix + "c", b"")  # written while nobody watches
    second = store.watch(prefix, seen[-1].kv.mod_revision)
    try:
        store.create(prefix + "d", b"")
        rest = take(second, 3)
        assert [e.kv.key[len(prefix):] for e in seen + rest] == ["a", "b", "c", "d"]
        assert second.next(0.3) is None
    finally:
        second.close()


def test_watch_from_a_future_revision_waits_for_it(store, prefix):
    now = store.revision()
    watch = store.watch(prefix, now + 2)
    try:
        store.create(prefix + "a", b"")
        store.create(prefix + "b", b"")
        store.create(prefix + "c", b"")
        event = take(watch, 1)[0]
        assert event.kv.key == prefix + "c"
    finally:
        watch.close()


def test_watch_revision_is_a_safe_bookmark(store, prefix):
    watch = store.watch(prefix + "mine/", store.revision())
    try:
        mine = store.create(prefix + "mine/a", b"")
        other = store.create(prefix + "other/a", b"")
        assert take(watch, 1)[0].kv.mod_revision == mine
        assert watch.revision >= mine
        # Unrelated writes let the bookmark move past them (eventually).
        for _ in range(100):
            if watch.revision >= other:
                break
            watch.next(0.05)
        assert watch.revision >= other
        assert watch.next(0.1) is None
    finally:
        watch.close()


def test_compaction_makes_older_revisions_compacted(store, prefix):
    revisions = [store.create(f"{prefix}k{i}", b"%d" % i) for i in range(6)]
    store.update(prefix + "k0", b"changed")
    target = revisions[3]
    store.compact(target)
    with pytest.raises(Compacted) as caught:
        store.list(prefix, revision=target - 1)
    assert caught.value.compacted == target
    items, _ = store.list(prefix, revision=target)
    assert [kv.value for kv in items] == [b"0", b"1", b"2", b"3"]
    with pytest.raises(Compacted):
        store.watch(prefix, target - 2)
    watch = store.watch(prefix, target - 1)
    try:
        assert [e.kv.mod_revision for e in take(watch, 1)] == [target]
    finally:
        watch.close()
    assert store.get(prefix + "k0").value == b"changed"   # current values stay


def test_compaction_to_the_future_is_refused_and_to_the_past_is_a_no_op(store, prefix):
    first = store.create(prefix + "a", b"")
    second = store.create(prefix + "b", b"")
    with pytest.raises(FutureRevision):
        store.compact(store.revision() + 100)
    store.compact(second)
    store.compact(first)         # already compacted further: nothing happens
    items, _ = store.list(prefix, revision=second)
    assert len(items) == 2


def test_concurrent_writers_lose_no_event(store, prefix):
    start = store.revision()
    watch = store.watch(prefix, start)
    threads, per_thread, errors = 8, 40, []

    def writer(n):
        try:
            for i in range(per_thread):
                key = f"{prefix}w{n}/{i % 5}"
                if i < 5:
                    store.create(key, b"%d" % i)
                else:
                    store.update(key, b"%d" % i)
        except Exception as exc:   # surfaced by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    try:
        events = take(watch, threads * per_thread)
        assert watch.next(0.3) is None
    finally:
        watch.close()
    revisions = [e.kv.mod_revision for e in events]
    assert revisions == sorted(set(revisions))
    assert revisions == list(range(start + 1, store.revision() + 1))
    final = {kv.key: kv.value for kv in store.list(prefix)[0]}
    replayed = {e.kv.key: e.kv.value for e in events}
    assert final == replayed


def test_closing_a_watch_from_another_thread_ends_its_iteration(store, prefix):
    watch = store.watch(prefix, store.revision())
    received, done = [], threading.Event()

    def consume():
        received.extend(watch)
        done.set()

    consumer = threading.Thread(target=consume)
    consumer.start()
    store.create(prefix + "a", b"")
    watch.close()
    assert done.wait(10)
    consumer.join()
    assert watch.closed
    assert len(received) <= 1


def test_closing_the_store_ends_every_watch(store_url, prefix):
    from supernetes.controlplane.store import open_store

    store = open_store(store_url)
    watches = [store.watch(prefix + f"{i}/", store.revision()) for i in range(5)]
    finished = []
    consumers = [threading.Thread(target=lambda w=w: finished.append(list(w)))
                 for w in watches]
    for consumer in consumers:
        consumer.start()
    store.close()
    for consumer in consumers:
        consumer.join(10)
        assert not consumer.is_alive()
    assert finished == [[]] * 5


def test_many_watchers_each_get_exactly_their_events(store, prefix):
    start = store.revision()
    watches = {i: store.watch(f"{prefix}{i}/", start) for i in range(50)}
    try:
        for i in range(50):
            store.create(f"{prefix}{i}/x", b"%d" % i)
        for i, watch in watches.items():
            (event,) = take(watch, 1)
            assert event.kv.value == b"%d" % i
            assert watch.next(0) is None
    finally:
        for watch in watches.values():
            watch.close()


def node_of(kv):
    return json.loads(kv.value).get("node")


def test_indexed_watches_get_only_their_keys_including_keys_moving_away(store, prefix):
    store.add_index("node", node_of)
    start = store.revision()
    on_a = store.watch(prefix, start, index=("node", "a"))
    on_b = store.watch(prefix, start, index=("node", "b"))
    try:
        store.create(prefix + "p1", b'{"node": "a"}')
        store.create(prefix + "p2", b'{"node": "b"}')
        store.create(prefix + "p3", b'{}')                    # in no index
        store.update(prefix + "p1", b'{"node": "b"}')         # moves from a to b
        store.delete(prefix + "p2")
        store.create(prefix + "p4", b"not json")              # in no index either
        assert [(e.type, e.kv.key[len(prefix):]) for e in take(on_a, 2)] == \
            [("PUT", "p1"), ("PUT", "p1")]
        assert on_a.next(0.3) is None
        assert [(e.type, e.kv.key[len(prefix):]) for e in take(on_b, 3)] == \
            [("PUT", "p2"), ("PUT", "p1"), ("DELETE", "p2")]
        assert on_b.next(0.3) is None
        # A watch started later replays the same selection from the past.
        replayed = store.watch(prefix, start, index=("node", "a"))
        assert [e.kv.value for e in take(replayed, 2)] == [b'{"node": "a"}', b'{"node": "b"}']
        assert replayed.next(0.3) is None
        replayed.close()
    finally:
        on_a.close()
        on_b.close()


def test_watching_an_unknown_index_is_refused(store, prefix):
    with pytest.raises(StoreError, match="no watch index named 'colour'"):
        store.watch(prefix, store.revision(), index=("colour", "red"))


def test_closing_leaves_no_thread_and_no_open_file(store_url, prefix):
    from supernetes.controlplane.store import open_store

    def open_files():
        return len(os.listdir("/proc/self/fd"))

    warm = open_store(store_url)          # imports, pools and caches warmed up
    warm.close()
    threads, files = threading.active_count(), open_files()
    for i in range(20):
        store = open_store(store_url)
        revision = store.create(f"{prefix}{i}", b"")
        watch = store.watch(prefix, revision - 1)
        assert watch.next(10).kv.mod_revision == revision
        store.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == threads
    assert open_files() <= files


def test_a_bad_key_fails_alone_while_other_writes_go_through(store, prefix):
    results, errors = [], []

    def write(n):
        try:
            results.append(store.create(f"{prefix}{n}", b""))
        except Exception as exc:   # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for bad in (None, "", 42):
        with pytest.raises(TypeError):
            store.create(bad, b"")
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.list(prefix)[0]) == 8
