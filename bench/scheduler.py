"""Scheduler throughput: pods scheduled and bound per second, through the real API server.

    .venv/bin/python bench/scheduler.py [--sizes 100,1000,5000] [--pods 5000]
                                        [--parallelism 16] [--no-events]

For each cluster size, a fresh `supernetes server` (HTTPS, SQLite store) on loopback
gets N hollow nodes (Node objects with no agent, Ready, 32 CPU / 128 GiB / 110 pods,
like Kubemark/KWOK) and P pending pods (owned by 50 ReplicaSets, 100m / 128Mi each),
all created *before* the scheduler starts. Then a Scheduler runs in this process
against the server, exactly as `supernetes scheduler` would:

- sync:      informers list the nodes and the P pods (not in the figure);
- scheduled: the timer starts when the informers are synced (every pod queued) and
             stops at the P-th successful `POST pods/x/binding` response;
             pods/s = P / that time. Scheduled events are on unless --no-events.

The peer, measured in the same run on the same server: P more pods bound directly
with the same number of parallel keep-alive connections and no scheduling at all
("raw bind") - the most the server's binding path allows from one Python client.
The ratio scheduler/raw says how much of that ceiling the scheduler reaches.

Also printed: the scheduler's own decision time per pod (filter+score over N nodes,
wall time on the scheduling thread, so it includes waits for the GIL), CPU seconds
spent by this process (scheduler + client) and by the server processes during the
timed phase, which says where the time goes, and how many `Scheduled` events the
recorder wrote during the timed phase and how many it dropped (as client-go's
broadcaster does, when more than 1000 wait; the recorder writes at most 50 a second
after a burst of 100, as kube-scheduler's rate-limited Events client does).
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "support"), str(ROOT / "tests/controlplane/scheduler")]

from apiserverkit import ApiServer  # noqa: E402
from sched_hollow import create_nodes, hollow_node, pending_pod  # noqa: E402

from supernetes.controlplane.client import Client  # noqa: E402
from supernetes.controlplane.scheduler import Scheduler, SchedulerConfig  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by every process in a process group (the server)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def create_pods(client, namespace, names, workers, owners=50):
    def create(i_name):
        i, name = i_name
        owner = {"name": f"rs-{i % owners}", "uid": f"00000000-0000-0000-0000-{i % owners:012d}"}
        client.create(pending_pod(name, namespace, cpu="100m", memory="128Mi", owner=owner))
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(create, enumerate(names)))


def raw_bind(client, namespace, names, nodes, workers) -> float:
    jobs: queue.Queue = queue.Queue()
    for i, name in enumerate(names):
        jobs.put((name, nodes[i % len(nodes)]))

    def work():
        while True:
            try:
                name, node = jobs.get_nowait()
            except queue.Empty:
                return
            client.bind(name, namespace, node)

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def run_size(size: int, pods: int, parallelism: int, events: bool, workdir: Path) -> dict:
    server = ApiServer(workdir / f"n{size}" / "data")
    server.data_dir.parent.mkdir(parents=True, exist_ok=True)
    server.start()
    try:
        client = Client.from_kubeconfig(str(server.kubeconfig), pool_size=parallelism + 8)
        nodes = [hollow_node(f"hollow-{i:05}", cpu="32", memory="128Gi",
                             labels={"topology.kubernetes.io/zone": f"zone-{i % 3}"})
                 for i in range(size)]
        t0 = time.perf_counter()
        create_nodes(client, nodes, workers=parallelism)
        namespace = "bench"
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        create_pods(client, namespace, [f"pod-{i:06}" for i in range(pods)], parallelism)
        setup = time.perf_counter() - t0

        config = SchedulerConfig(parallelism=parallelism, record_scheduled_events=events)
        scheduler = Scheduler(config, client)
        t0 = time.perf_counter()
        scheduler.start(sync_timeout=300)
        synced = time.perf_counter()
        cpu_self, cpu_server = time.process_time(), group_cpu(server.process.pid)
        while scheduler.stats["bound"] + scheduler.stats["bind_errors"] < pods:
            if time.perf_counter() - synced > 600:
                raise RuntimeError(f"only {scheduler.stats['bound']} of {pods} bound in 600 s")
            time.sleep(0.002)
        done = time.perf_counter()
        cpu_self = time.process_time() - cpu_self
        cpu_server = group_cpu(server.process.pid) - cpu_server
        stats = dict(scheduler.stats)
        events_dropped, events_written = scheduler.recorder.dropped, scheduler.recorder.written
        scheduler.stop()

        raw_names = [f"raw-{i:06}" for i in range(pods)]
        create_pods(client, namespace, raw_names, parallelism)
        raw = raw_bind(client, namespace, raw_names, [n["metadata"]["name"] for n in nodes],
                       parallelism)
        client.close()
    finally:
        server.stop()
    elapsed = done - synced
    return {"nodes": size, "pods": pods, "setup_s": setup, "sync_s": synced - t0,
            "elapsed_s": elapsed, "pods_per_s": stats["bound"] / elapsed,
            "raw_bind_per_s": pods / raw, "decide_us": 1e6 * stats["decide_seconds"] / pods,
            "bind_errors": stats["bind_errors"], "events_dropped": events_dropped,
            "events_written": events_written,
            "cpu_self_s": cpu_self,
            "cpu_server_s": cpu_server}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--no-events", action="store_true", help="no Scheduled events")
    parser.add_argument("--workdir", default=None, help="default: a temporary directory")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sched-bench-", dir=args.workdir) as workdir:
        print(f"{'nodes':>6} {'pods':>6} {'pods/s':>8} {'raw bind/s':>10} {'ratio':>6} "
              f"{'decide us/pod':>13} {'cpu sched s':>11} {'cpu server s':>12} "
              f"{'timed s':>8} {'sync s':>7}", flush=True)
        events = not args.no_events
        for size in (int(s) for s in args.sizes.split(",")):
            r = run_size(size, args.pods, args.parallelism, events, Path(workdir))
            print(f"{r['nodes']:>6} {r['pods']:>6} {r['pods_per_s']:>8.0f} "
                  f"{r['raw_bind_per_s']:>10.0f} {r['pods_per_s'] / r['raw_bind_per_s']:>6.2f} "
                  f"{r['decide_us']:>13.0f} {r['cpu_self_s']:>11.1f} {r['cpu_server_s']:>12.1f} "
                  f"{r['elapsed_s']:>8.1f} {r['sync_s']:>7.1f}"
                  + (f"  ({r['bind_errors']} bind errors)" if r["bind_errors"] else "")
                  + (f"  ({r['events_written']} Scheduled events written, "
                     f"{r['events_dropped']} dropped)" if events else ""),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
