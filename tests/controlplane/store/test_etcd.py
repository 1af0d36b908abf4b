"""What only the etcd backend promises: sharing one etcd between processes, and
riding out an etcd restart."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time

import pytest

from supernetes.controlplane.store import (
    Compacted,
    RevisionConflict,
    Unavailable,
    open_store,
)
from supernetes.controlplane.store.etcd import EtcdStore
from supernetes.controlplane.store.etcd_watch import StreamWatch

# Adds 1 to a counter `count` times with compare-and-swap, retrying on conflict.
INCREMENTER = textwrap.dedent("""
    import sys
    from supernetes.controlplane.store import RevisionConflict, open_store

    store = open_store(sys.argv[1] + "?compact_interval=0")
    key, count = sys.argv[2], int(sys.argv[3])
    conflicts = 0
    for _ in range(count):
        while True:
            kv = store.get(key)
            try:
                store.update(key, b"%d" % (int(kv.value) + 1), kv.mod_revision)
                break
            except RevisionConflict:
                conflicts += 1
    print(conflicts)
    store.close()
""")


def increment(store, key, count):
    conflicts = 0
    for _ in range(count):
        while True:
            kv = store.get(key)
            try:
                store.update(key, b"%d" % (int(kv.value) + 1), kv.mod_revision)
                break
            except RevisionConflict:
                conflicts += 1
    return conflicts


def test_processes_sharing_one_etcd_lose_no_update_and_see_each_others_writes(
        etcd_server, prefix):
    store = open_store(f"{etcd_server.url}?compact_interval=0")
    try:
        key = prefix + "counter"
        start = store.create(key, b"0")
        watch = store.watch(prefix, start)
        others = [subprocess.Popen([sys.executable, "-c", INCREMENTER, etcd_server.url, key,
                                    "100"], stdout=subprocess.PIPE, text=True)
                  for _ in range(2)]
        mine = increment(store, key, 100)
        conflicts = [int(child.communicate(timeout=120)[0]) for child in others]
        assert [child.returncode for child in others] == [0, 0]
        assert int(store.get(key).value) == 300
        assert mine + sum(conflicts) > 0      # they really raced
        values = [int(watch.next(10).kv.value) for _ in range(300)]
        assert values == list(range(1, 301))  # every write, in order, from all three
        watch.close()
    finally:
        store.close()


def test_a_watch_rides_out_an_etcd_restart_without_gap_or_duplicate(own_etcd):
    store = open_store(f"{own_etcd.url}?compact_interval=0&timeout=2")
    try:
        watch = store.watch("/r/", store.revision())
        store.create("/r/before", b"")
        assert watch.next(10).kv.key == "/r/before"
        own_etcd.stop()
        with pytest.raises(Unavailable):
            store.create("/r/while-down", b"")
        own_etcd.start()
        for i in range(3):
            store.create(f"/r/after-{i}", b"")
        keys = [watch.next(15).kv.key for _ in range(3)]
        assert keys == ["/r/after-0", "/r/after-1", "/r/after-2"]
        assert watch.next(0.5) is None
        watch.close()
    finally:
        store.close()


def test_a_watch_older_than_the_ring_replays_from_etcd_history(etcd_server, prefix):
    store = EtcdStore([etcd_server.client], compact_interval=0, ring_size=8)
    try:
        start = store.revision()
        written = [store.create(f"{prefix}{i:02d}", b"") for i in range(30)]
        watch = store.watch(prefix, start)
        assert isinstance(watch, StreamWatch)      # the ring holds only the last 8
        late = store.create(prefix + "late", b"")
        received = [watch.next(10).kv.mod_revision for _ in range(31)]
        assert received == written + [late]
        watch.close()
        store.compact(written[10])
        with pytest.raises(Compacted) as caught:
            store.watch(prefix, start)
        assert caught.value.compacted == written[10]
    finally:
        store.close()


def test_an_unreachable_etcd_is_one_clear_error(etcd_server):
    with socket.socket() as sock:          # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(Unavailable, match=f"etcd unreachable at http://{dead}"):
        open_store(f"etcd://{dead}?timeout=2")
    assert time.monotonic() - started < 5
    # With a live member listed after the dead one, requests fail over to it.
    live = etcd_server.url.removeprefix("etcd://")
    store = open_store(f"etcd://{dead},{live}?compact_interval=0")
    try:
        assert store.revision() > 0
    finally:
        store.close()


def test_an_indexed_watch_older_than_the_ring_is_filtered_too(etcd_server, prefix):
    store = EtcdStore([etcd_server.client], compact_interval=0, ring_size=4)
    store.add_index("node", lambda kv: kv.value.decode())
    try:
        start = store.revision()
        mine = [store.create(f"{prefix}{i}", b"a" if i % 3 == 0 else b"b") for i in range(12)]
        watch = store.watch(prefix, start, index=("node", "a"))
        assert isinstance(watch, StreamWatch)
        assert [watch.next(10).kv.mod_revision for _ in range(4)] == mine[::3]
        assert watch.next(0.3) is None
        watch.close()
    finally:
        store.close()
