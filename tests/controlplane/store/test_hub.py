"""The watch hub on its own: what happens when continuity is lost."""

from __future__ import annotations

import pytest

from supernetes.controlplane.store import Compacted, Event, KeyValue
from supernetes.controlplane.store.hub import Hub
from supernetes.controlplane.store.watcher import OutOfRing


def put(key, revision):
    return Event("PUT", KeyValue(key, b"", revision, revision))


def test_a_reset_fails_every_watcher_with_the_reason():
    hub = Hub(10)
    watches = [hub.watch("/a/", 10), hub.watch("/b/", 10)]
    hub.reset(50, Compacted(10, 40))
    for watch in watches:
        with pytest.raises(Compacted):
            watch.next(1)
        with pytest.raises(Compacted):      # and keeps saying so
            watch.next(1)
    hub.publish([put("/a/x", 51)], 51)
    assert hub.watch("/a/", 50).next(1).kv.mod_revision == 51


def test_without_history_a_start_before_the_ring_is_refused():
    hub = Hub(0, ring_size=4)
    hub.publish([put(f"/k/{r}", r) for r in range(1, 11)], 10)
    with pytest.raises(OutOfRing):
        hub.watch("/k/", 5)
    assert [hub.watch("/k/", 6).next(1).kv.mod_revision] == [7]


def test_a_watcher_too_slow_for_a_hub_without_history_must_relist():
    hub = Hub(0, ring_size=4, max_pending=3)
    watch = hub.watch("/k/", 0)
    for revision in range(1, 11):            # one at a time: the queue overflows
        hub.publish([put(f"/k/{revision}", revision)], revision)
    with pytest.raises(Compacted):
        watch.next(1)


def test_a_slow_watcher_within_the_ring_catches_up_from_it():
    hub = Hub(0, ring_size=100, max_pending=3)
    watch = hub.watch("/k/", 0)
    for revision in range(1, 11):
        hub.publish([put(f"/k/{revision}", revision)], revision)
    assert [watch.next(1).kv.mod_revision for _ in range(10)] == list(range(1, 11))
