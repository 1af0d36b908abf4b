"""Pod start-up latency on one node, superc vs runc in the same run; the agent at rest.

For each runtime a fresh cluster (the real `supernetes server` and `superlet run`,
inside a network namespace of its own, as the e2e tests run it) gets bursts of
1, 30 and 100 pods (busybox `sleep`), created as fast as 16 client threads can
POST them. A watch records when each pod is first reported Running; latency is
that moment minus the moment its POST returned. The agent's CPU time over each
burst (until every pod is Running), divided by the pods, is the per-pod cost
that noise on a shared machine does not inflate much. With the 100 pods running,
the agent's RSS and its CPU use over an idle interval are sampled from /proc.

    .venv/bin/python bench/pod_startup.py [--sizes 1 30 100] [--idle 20] [--runtime superc runc]

Targets (issue 7): p99 <= 1 s for a 30-pod burst, 100 pods all Running in <= 15 s,
agent RSS <= 60 MiB and idle CPU <= 2 % of a core with 100 pods. The machine is
shared with other work, so the superc/runc ratio is the number to compare.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

from nodekit import Cluster, pod

from supernetes.rootfs.build import build_busybox

TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(int(round(q / 100 * (len(ordered) - 1))), len(ordered) - 1)
    return ordered[index]


class RunningWatch:
    """Watches pods; remembers when each was first seen Running."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.running: dict[str, float] = {}
        self.lock = threading.Lock()
        pods = cluster.client.resource("v1", "Pod")
        version = pods.list("default")["metadata"]["resourceVersion"]
        self.watch = pods.watch("default", resource_version=version)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for event in self.watch:
                obj = event.object
                if (obj.get("status") or {}).get("phase") == "Running":
                    with self.lock:
                        self.running.setdefault(obj["metadata"]["name"], time.monotonic())
        except Exception:
            pass

    def wait(self, names: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(n in self.running for n in names):
                    return
            time.sleep(0.02)
        missing = [n for n in names if n not in self.running]
        raise TimeoutError(f"{len(missing)} pods not Running after {timeout} s")

    def close(self) -> None:
        self.watch.stop()


def burst(cluster: Cluster, watch: RunningWatch, prefix: str, count: int) -> dict:
    created: dict[str, float] = {}

    def make(i: int) -> None:
        name = f"{prefix}-{i}"
        cluster.create(pod(name, [{"name": "app", "command": ["sleep", "3600"]}],
                           terminationGracePeriodSeconds=0))
        created[name] = time.monotonic()

    _, cpu_before = process_usage(cluster.agent.pid)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(make, range(count)))
    watch.wait(list(created), timeout=max(60, count * 2))
    _, cpu_after = process_usage(cluster.agent.pid)
    latencies = [watch.running[n] - created[n] for n in created]
    return {"count": count, "p50": statistics.median(latencies),
            "p99": percentile(latencies, 99), "all": max(watch.running[n] for n in created)
            - start, "cpu_per_pod": (cpu_after - cpu_before) / count}


def delete_all(cluster: Cluster, names: list[str]) -> None:
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: cluster.delete_pod(n, timeout=120), names))


def process_usage(pid: int) -> tuple[int, float]:
    """(RSS bytes, CPU seconds) of one process."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / TICKS


def idle_usage(pid: int, seconds: float) -> tuple[int, float]:
    """(RSS bytes at the end, share of one core used) over `seconds` of rest."""
    _, before = process_usage(pid)
    time.sleep(seconds)
    rss, after = process_usage(pid)
    return rss, (after - before) / seconds


def wait_adopted(cluster: Cluster, count: int, timeout: float = 120) -> None:
    """Until the new agent's heartbeat is in and every pod is still Running."""
    deadline = time.monotonic() + timeout
    first = cluster.client.get("coordination.k8s.io/v1", "Lease", cluster.node,
                               "kube-node-lease")["spec"]["renewTime"]
    while time.monotonic() < deadline:
        lease = cluster.client.get("coordination.k8s.io/v1", "Lease", cluster.node,
                                   "kube-node-lease")["spec"]["renewTime"]
        pods = cluster.client.list("v1", "Pod", "default")["items"]
        if lease != first and sum((p.get("status") or {}).get("phase") == "Running"
                                  for p in pods) == count:
            return
        time.sleep(0.1)
    raise TimeoutError("the restarted agent did not take over")


def bench_runtime(runtime: str, layout: str, sizes: list[int], idle: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-pods-{runtime}-"))
    cluster = Cluster(tmp, runtime=runtime)
    results: dict = {"bursts": []}
    try:
        cluster.start(images=[layout])  # inside: a failed start still tears down
        watch = RunningWatch(cluster)
        for size in sizes:
            prefix = f"b{size}"
            results["bursts"].append(burst(cluster, watch, prefix, size))
            if size != sizes[-1]:
                delete_all(cluster, [f"{prefix}-{i}" for i in range(size)])
        time.sleep(3)  # let the status writes and events of the burst settle
        results["rss"], results["idle_cpu"] = idle_usage(cluster.agent.pid, idle)
        results["pods"] = sizes[-1]
        # The same node after an agent restart: it adopts the running pods (and, its
        # serving certificate made, no longer loads the crypto library).
        cluster.stop_agent()
        started = time.monotonic()
        cluster.start_agent()
        wait_adopted(cluster, sizes[-1])
        results["adopt"] = time.monotonic() - started
        time.sleep(3)
        results["rss_restarted"], results["idle_cpu_restarted"] = idle_usage(
            cluster.agent.pid, idle)
        watch.close()
        delete_all(cluster, [f"b{sizes[-1]}-{i}" for i in range(sizes[-1])])
    finally:
        cluster.close()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 30, 100])
    parser.add_argument("--idle", type=float, default=20.0, help="idle sampling seconds")
    parser.add_argument("--runtime", nargs="+", default=["superc", "runc"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-busybox-") as tmp:
        layout = os.path.join(tmp, "layout")
        build_busybox(layout)
        results = {rt: bench_runtime(rt, layout, args.sizes, args.idle) for rt in args.runtime}
    print(f"{'runtime':8} {'pods':>5} {'p50 s':>7} {'p99 s':>7} {'all Running s':>14} "
          f"{'agent CPU ms/pod':>17}")
    for runtime, result in results.items():
        for b in result["bursts"]:
            print(f"{runtime:8} {b['count']:5d} {b['p50']:7.3f} {b['p99']:7.3f} {b['all']:14.2f} "
                  f"{b['cpu_per_pod'] * 1000:17.1f}")
    for runtime, result in results.items():
        print(f"{runtime}: agent RSS {result['rss'] / 2**20:.1f} MiB, idle CPU "
              f"{result['idle_cpu'] * 100:.2f} % of a core with {result['pods']} pods; "
              f"restarted (adopted them in {result['adopt']:.1f} s): RSS "
              f"{result['rss_restarted'] / 2**20:.1f} MiB, idle CPU "
              f"{result['idle_cpu_restarted'] * 100:.2f} %")
    if len(results) == 2 and "superc" in results and "runc" in results:
        for sc, rc in zip(results["superc"]["bursts"], results["runc"]["bursts"], strict=True):
            print(f"superc/runc, {sc['count']:3d} pods: p50 {sc['p50'] / rc['p50']:.2f}x, "
                  f"p99 {sc['p99'] / rc['p99']:.2f}x, all Running {sc['all'] / rc['all']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
