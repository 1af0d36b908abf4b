"""Benchmark the store (SuperCache) on SQLite and on etcd, in one run.

    .venv/bin/python bench/store.py [--backends sqlite,etcd] [--threads 16] [--quick]

Measures, per backend: creates/s (with p50/p99 latency), gets/s, listing 1000 keys,
CAS updates/s, and watch delivery latency (write issued -> event received) with
100 and 500 watchers consuming while a writer writes at a steady rate. Values
are pod-sized JSON (about 1.3 KiB). etcd is a real etcd-server started here on
loopback with a throw-away data dir; SQLite uses a file in a temporary dir on the
same disk. Absolute numbers depend on the machine: compare the columns, which
were measured in the same run on the same CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

from supernetes.controlplane.store import open_store

POD = json.dumps({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-{i}", "namespace": "default", "uid": "0" * 36,
                 "labels": {"app": "web", "tier": "frontend"},
                 "annotations": {"note": "x" * 200}},
    "spec": {"containers": [{"name": "web", "image": "registry.local/web:1.0",
                             "ports": [{"containerPort": 80, "protocol": "TCP"}],
                             "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                             "env": [{"name": f"VAR_{n}", "value": "v" * 20}
                                     for n in range(10)]}],
             "restartPolicy": "Always", "terminationGracePeriodSeconds": 30},
    "status": {"phase": "Pending"},
}).encode()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_threads(count: int, work) -> float:
    """Run work(n) on `count` threads at once; return the wall time."""
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def bench_kv(store, prefix: str, threads: int, count: int) -> dict[str, str]:
    latencies: list[float] = []
    per_thread = count // threads

    def create(n):
        mine = []
        for i in range(per_thread):
            started = time.perf_counter()
            store.create(f"{prefix}pods/default/web-{n}-{i}", POD)
            mine.append(time.perf_counter() - started)
        latencies.extend(mine)

    elapsed = run_threads(threads, create)
    total = per_thread * threads
    keys = [f"{prefix}pods/default/web-{n}-{i}"
            for n in range(threads) for i in range(per_thread)]

    def get(n):
        rng = random.Random(n)
        for _ in range(per_thread):
            store.get(rng.choice(keys))

    get_elapsed = run_threads(threads, get)

    list_times = []
    for _ in range(7):
        started = time.perf_counter()
        items, _ = store.list(f"{prefix}pods/", limit=1000)
        list_times.append(time.perf_counter() - started)
        assert len(items) == 1000

    def update(n):
        for i in range(per_thread):
            key = f"{prefix}pods/default/web-{n}-{i}"
            kv = store.get(key)
            store.update(key, POD, kv.mod_revision)

    update_elapsed = run_threads(threads, update)
    return {
        "creates/s": f"{total / elapsed:,.0f}",
        "create p50 ms": f"{percentile(latencies, 0.5) * 1000:.2f}",
        "create p99 ms": f"{percentile(latencies, 0.99) * 1000:.2f}",
        "gets/s": f"{total / get_elapsed:,.0f}",
        "list 1000 ms": f"{statistics.median(list_times) * 1000:.1f}",
        "CAS updates/s": f"{total / update_elapsed:,.0f}",
    }


def bench_watch(store, prefix: str, watchers: int, rate: float, seconds: float,
                indexed: bool = False) -> tuple[str, float]:
    """Delivery latency p50/p99 in ms (write issued -> event received) and the write
    rate achieved, with `watchers` threads consuming while 4 writers write at `rate`.

    Unindexed, every watcher receives every write (the worst case: all watchers of
    /registry/pods/); indexed, each write is for one of `watchers` nodes and only
    that node's watcher receives it (how node agents watch their own pods).
    """
    start = store.revision()
    if indexed:
        store.add_index("node", lambda kv: json.loads(kv.value)["node"])
        watches = [store.watch(prefix, start, index=("node", f"n{n}")) for n in range(watchers)]
    else:
        watches = [store.watch(prefix, start) for _ in range(watchers)]
    writers, writes = 4, int(rate * seconds) // 4 * 4
    expected = writes // watchers if indexed else writes
    issued: dict[int, float] = {}
    delays: list[list[float]] = [[] for _ in range(watchers)]

    def consume(n):
        for _ in range(expected):
            event = watches[n].next(30)
            if event is None:
                return
            received = time.perf_counter()
            delays[n].append(received - issued[json.loads(event.kv.value)["i"]])

    def write(w):
        next_at = time.perf_counter()
        for i in range(w, writes, writers):
            now = time.perf_counter()
            if now < next_at:
                time.sleep(next_at - now)
            next_at += writers / rate
            issued[i] = time.perf_counter()
            store.create(f"{prefix}{i}", json.dumps({"i": i, "node": f"n{i % watchers}"}).encode())

    consumers = [threading.Thread(target=consume, args=(n,)) for n in range(watchers)]
    for consumer in consumers:
        consumer.start()
    elapsed = run_threads(writers, write)
    for consumer in consumers:
        consumer.join()
    for watch in watches:
        watch.close()
    samples = [d for per in delays for d in per]
    if len(samples) < expected * watchers:
        return f"lost {expected * watchers - len(samples)}", writes / elapsed
    return (f"{percentile(samples, 0.5) * 1000:.1f} / {percentile(samples, 0.99) * 1000:.1f}",
            writes / elapsed)


def naive_sqlite_creates(path: str, count: int) -> str:
    """The peer for group commit: one transaction (one fsync) per write."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB)")
    started = time.perf_counter()
    for i in range(count):
        conn.execute("INSERT INTO kv VALUES (?, ?)", (f"/pods/{i}", POD))
    elapsed = time.perf_counter() - started
    conn.close()
    return f"{count / elapsed:,.0f}"


class Etcd:
    """A throw-away etcd on loopback."""

    def __init__(self, workdir: str):
        ports = []
        for _ in range(2):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                ports.append(sock.getsockname()[1])
        client, peer = (f"http://127.0.0.1:{port}" for port in ports)
        self.url = f"etcd://127.0.0.1:{ports[0]}"
        self.log = open(os.path.join(workdir, "etcd.log"), "wb")
        self.process = subprocess.Popen(
            ["etcd", "--name", "bench", "--data-dir", os.path.join(workdir, "etcd"),
             "--listen-client-urls", client, "--advertise-client-urls", client,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"bench={peer}", "--log-level", "error"],
            stdout=self.log, stderr=self.log)
        for _ in range(400):
            try:
                if requests.post(f"{client}/v3/kv/range", json={"key": "AA=="}, timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise SystemExit("bench: etcd did not start (see etcd.log)")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,etcd")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--count", type=int, default=8000, help="keys created per backend")
    parser.add_argument("--rate", type=float, default=100,
                        help="writes/s while every watcher receives every write")
    parser.add_argument("--indexed-rate", type=float, default=1000,
                        help="writes/s while 500 node-indexed watchers each get their own")
    parser.add_argument("--quick", action="store_true", help="fewer keys, shorter watch runs")
    args = parser.parse_args(argv)
    backends = args.backends.split(",")
    if any(b not in ("sqlite", "etcd") for b in backends):
        parser.error("--backends takes sqlite and/or etcd")
    if "etcd" in backends and shutil.which("etcd") is None:
        parser.error("etcd is not installed (apt-get install etcd-server)")
    count = 2000 if args.quick else args.count
    seconds = 1.0 if args.quick else 3.0

    workdir = tempfile.mkdtemp(prefix="supernetes-bench-store-")
    results: dict[str, dict[str, str]] = {}
    try:
        for backend in backends:
            etcd = Etcd(workdir) if backend == "etcd" else None
            url = etcd.url if etcd else f"sqlite://{workdir}/state.db"
            store = open_store(f"{url}?compact_interval=0")
            try:
                print(f"bench: {backend} ...", file=sys.stderr)
                row = bench_kv(store, "/registry/", args.threads, count)
                for watchers in (100, 500):
                    row[f"watch p50/p99 ms, {watchers} watchers"], _ = bench_watch(
                        store, f"/watch-{watchers}/", watchers, args.rate, seconds)
                latency, achieved = bench_watch(store, "/watch-indexed/", 500,
                                                args.indexed_rate, seconds, indexed=True)
                row["watch p50/p99 ms, 500 node watchers"] = latency
                row["  writes/s achieved meanwhile"] = f"{achieved:,.0f}"
                results[backend] = row
            finally:
                store.close()
                if etcd:
                    etcd.stop()
        if "sqlite" in backends:
            naive = naive_sqlite_creates(os.path.join(workdir, "naive.db"), min(count, 2000))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    names = list(next(iter(results.values())))
    width = max(map(len, names)) + 2
    header = "".join(f"{b:>16}" for b in backends)
    ratio = "sqlite/etcd" if len(backends) == 2 else ""
    print(f"{'':<{width}}{header}{ratio:>14}")
    for name in names:
        cells = [results[b][name] for b in backends]
        line = f"{name:<{width}}" + "".join(f"{c:>16}" for c in cells)
        if ratio:
            line += f"{_ratio(name, *cells):>14}"
        print(line)
    print(f"({args.threads} client threads, {count} pod-sized keys; watches: every watcher"
          f" gets all {args.rate:.0f} writes/s, or each node watcher its share of"
          f" {args.indexed_rate:.0f}/s; {seconds:.0f} s each; python {sys.version.split()[0]})")
    if "sqlite" in backends:
        print(f"peer: plain SQLite, one fsync per insert (no group commit): {naive} creates/s")
    return 0


def _ratio(name: str, sqlite: str, etcd: str) -> str:
    """How many times better SQLite is (higher rates, lower times)."""
    try:
        a, b = (float(cell.split("/")[-1].replace(",", "")) for cell in (sqlite, etcd))
    except ValueError:
        return "-"
    if not a or not b:
        return "-"
    better = a / b if "/s " in f"{name} " else b / a   # a rate, or a time
    return f"{better:.1f}x"


if __name__ == "__main__":
    sys.exit(main())
