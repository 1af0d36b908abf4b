"""The Summary API (`/stats/summary`): CPU and memory of the node, its pods and containers.

The shape is the kubelet's (`k8s.io/kubelet/pkg/apis/stats/v1alpha1`), which
`superctl top`, metrics-server and the HPA's pipeline read:

    {"node": {"nodeName", "startTime", "cpu", "memory", "fs", "runtime", "rlimit"},
     "pods": [{"podRef": {name, namespace, uid}, "startTime",
               "containers": [{"name", "startTime", "cpu", "memory", "logs"}],
               "cpu", "memory", "network"}]}

    cpu     usageCoreNanoSeconds (cumulative) and usageNanoCores (a rate)
    memory  usageBytes, workingSetBytes (usage minus inactive file pages, the
            kubelet's and the OOM killer's notion of "in use"), rssBytes,
            availableBytes (limit minus working set, when there is a limit),
            pageFaults, majorPageFaults

Containers are read from their cgroups through the runtime (`Runtime.stats`);
the node from /proc/stat and /proc/meminfo (the machine, as the kubelet reads the
root cgroup); a pod's network from /proc/<pid>/net/dev of one of its processes
(which shows the pod's network namespace without entering it).

A rate needs two readings. `Sampler` keeps a few CPU readings per container;
a summary computes the rate against the newest reading at least half a second
old and at most a minute. When some container (or the node) has none (the first
request, or none for a minute), the summary reads twice, half a second apart:
one slower answer now and then instead of a background thread reading every
cgroup of the node forever (the agent's idle CPU budget is 2% of a core with a
hundred pods). Scrapers that ask every few seconds, as metrics-server does, get
rates over their own interval. A container younger than its first reading gets
its average since start. Only running containers are reported, as the kubelet does.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque

from .logs import format_time, log_files, parse_time
from .nodeinfo import meminfo

MIN_WINDOW_NS = 500_000_000
MAX_AGE_NS = 60_000_000_000
SECOND_READING = 0.5
KEEP = 4
_CLK_TCK = os.sysconf("SC_CLK_TCK")
NODE = "/"


def _now() -> str:
    return format_time(time.time_ns())


def node_cpu_ns() -> int:
    """Busy CPU time of the machine since boot, in nanoseconds (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: everything but idle and iowait.
    busy = sum(fields[:3]) + sum(fields[5:8])
    return busy * 1_000_000_000 // _CLK_TCK


def boot_time() -> float:
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


def pod_network(pid: int) -> dict | None:
    """The interfaces of the network namespace `pid` lives in, eth0 first."""
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return None
    interfaces = []
    for line in lines:
        name, _, values = line.partition(":")
        name, numbers = name.strip(), [int(v) for v in values.split()]
        if name == "lo" or len(numbers) < 12:
            continue
        interfaces.append({"name": name, "rxBytes": numbers[0], "rxErrors": numbers[2],
                           "txBytes": numbers[8], "txErrors": numbers[10]})
    if not interfaces:
        return None
    interfaces.sort(key=lambda i: i["name"] != "eth0")
    return {"time": _now(), **interfaces[0], "interfaces": interfaces}


class Sampler:
    """Recent cumulative CPU readings per key, for rates."""

    def __init__(self) -> None:
        self._readings: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _base(self, key: str, now_ns: int):
        history = self._readings.get(key) or ()
        return next((r for r in reversed(history)
                     if MIN_WINDOW_NS <= now_ns - r[0] <= MAX_AGE_NS), None)

    def has_base(self, key: str, now_ns: int) -> bool:
        with self._lock:
            return self._base(key, now_ns) is not None

    def record(self, key: str, now_ns: int, usage_ns: int) -> None:
        with self._lock:
            history = self._readings.setdefault(key, deque(maxlen=KEEP))
            if not history or now_ns - history[-1][0] >= MIN_WINDOW_NS:
                history.append((now_ns, usage_ns))

    def rate(self, key: str, now_ns: int, usage_ns: int, started_ns: int | None) -> int:
        """Nanocores since the base reading (this reading is recorded too)."""
        with self._lock:
            base = self._base(key, now_ns)
        self.record(key, now_ns, usage_ns)
        if base is None:
            if not started_ns or now_ns <= started_ns:
                return 0
            base = (started_ns, 0)
        elapsed = now_ns - base[0]
        return max(0, (usage_ns - base[1]) * 1_000_000_000 // elapsed) if elapsed > 0 else 0

    def keep_only(self, keys: set[str]) -> None:
        with self._lock:
            for key in set(self._readings) - keys:
                del self._readings[key]


def _started_ns(stamp: str) -> int | None:
    try:
        return int(parse_time(stamp) * 1e9) if stamp else None
    except ValueError:
        return None


class StatsProvider:
    def __init__(self, view, node_name: str, root_dir: str) -> None:
        self.view = view
        self.node_name = node_name
        self.root_dir = root_dir
        self.sampler = Sampler()

    def _read(self) -> tuple[int, int, list]:
        """(now, node busy ns, [(ref, Stats)] of the running containers)."""
        readings = []
        for ref in self.view.containers():
            if not ref.running:
                continue
            try:
                readings.append((ref, self.view.stats(ref)))
            except Exception:        # stopped and deleted since the listing
                continue
        return time.time_ns(), node_cpu_ns(), readings

    def summary(self, only_cpu_and_memory: bool = False) -> dict:
        now, busy, readings = self._read()
        keys = {NODE, *(ref.id for ref, _ in readings)}
        if not all(self.sampler.has_base(key, now) for key in keys):
            self.sampler.record(NODE, now, busy)
            for ref, stats in readings:
                self.sampler.record(ref.id, now, stats.cpu_usage_ns)
            time.sleep(SECOND_READING)
            now, busy, readings = self._read()
        self.sampler.keep_only({NODE, *(ref.id for ref, _ in readings)})
        objects = {(p["metadata"].get("namespace"), p["metadata"].get("name")): p
                   for p in self.view.pods() if p.get("metadata")}
        pods: dict[tuple, dict] = {}
        for ref, stats in readings:
            key = (ref.namespace, ref.pod, ref.pod_uid)
            pod = pods.get(key)
            if pod is None:
                pod = pods[key] = self._pod_entry(ref, objects.get(key[:2]), only_cpu_and_memory)
            pod["containers"].append(self._container(ref, stats, now, only_cpu_and_memory))
        for pod in pods.values():
            _sum_pod(pod)
        return {"node": self._node(now, busy, only_cpu_and_memory), "pods": list(pods.values())}

    def _pod_entry(self, ref, pod_obj: dict | None, only_cpu_and_memory: bool) -> dict:
        start = ((pod_obj or {}).get("status") or {}).get("startTime") or ref.created
        entry = {"podRef": {"name": ref.pod, "namespace": ref.namespace, "uid": ref.pod_uid},
                 "startTime": start, "containers": []}
        if not only_cpu_and_memory and ref.pid:
            network = pod_network(ref.pid)
            if network:
                entry["network"] = network
        return entry

    def _container(self, ref, stats, now: int, only_cpu_and_memory: bool) -> dict:
        usage = stats.cpu_usage_ns
        working = max(0, stats.memory_usage - stats.extra.get("memory_inactive_file", 0))
        memory = {"time": format_time(now), "usageBytes": stats.memory_usage,
                  "workingSetBytes": working,
                  "rssBytes": stats.extra.get("memory_rss", stats.extra.get("memory_anon", 0)),
                  "pageFaults": stats.extra.get("memory_pgfault", 0),
                  "majorPageFaults": stats.extra.get("memory_pgmajfault", 0)}
        if stats.memory_limit:
            memory["availableBytes"] = max(0, stats.memory_limit - working)
        entry = {"name": ref.name, "startTime": ref.created,
                 "cpu": {"time": format_time(now), "usageCoreNanoSeconds": usage,
                         "usageNanoCores": self.sampler.rate(ref.id, now, usage,
                                                             _started_ns(ref.created))},
                 "memory": memory}
        if not only_cpu_and_memory:
            used = 0
            for path in log_files(ref.log_path):
                try:
                    used += os.stat(path).st_size
                except OSError:
                    pass
            entry["logs"] = {"time": format_time(now), "usedBytes": used}
        return entry

    def _node(self, now: int, busy: int, only_cpu_and_memory: bool) -> dict:
        booted = boot_time()
        info = meminfo()
        total, available = info.get("MemTotal", 0), info.get("MemAvailable", 0)
        node = {"nodeName": self.node_name, "startTime": format_time(int(booted * 1e9)),
                "cpu": {"time": format_time(now), "usageCoreNanoSeconds": busy,
                        "usageNanoCores": self.sampler.rate(NODE, now, busy, int(booted * 1e9))},
                "memory": {"time": format_time(now), "availableBytes": available,
                           "usageBytes": total - info.get("MemFree", 0),
                           "workingSetBytes": total - available}}
        if not only_cpu_and_memory:
            disk = os.statvfs(self.root_dir)
            fs = {"time": format_time(now), "availableBytes": disk.f_bavail * disk.f_frsize,
                  "capacityBytes": disk.f_blocks * disk.f_frsize,
                  "usedBytes": (disk.f_blocks - disk.f_bfree) * disk.f_frsize,
                  "inodesFree": disk.f_ffree, "inodes": disk.f_files,
                  "inodesUsed": disk.f_files - disk.f_ffree}
            node["fs"] = fs
            node["runtime"] = {"imageFs": dict(fs)}
            node["rlimit"] = {"time": format_time(now), "maxpid": _pid_max(),
                              "curproc": _process_count()}
        return node


def _sum_pod(pod: dict) -> None:
    containers = pod["containers"]
    stamp = containers[0]["cpu"]["time"] if containers else _now()
    pod["cpu"] = {"time": stamp,
                  "usageNanoCores": sum(c["cpu"]["usageNanoCores"] for c in containers),
                  "usageCoreNanoSeconds": sum(c["cpu"]["usageCoreNanoSeconds"]
                                              for c in containers)}
    pod["memory"] = {"time": stamp,
                     "usageBytes": sum(c["memory"]["usageBytes"] for c in containers),
                     "workingSetBytes": sum(c["memory"]["workingSetBytes"] for c in containers),
                     "rssBytes": sum(c["memory"]["rssBytes"] for c in containers)}


def _pid_max() -> int:
    try:
        with open("/proc/sys/kernel/pid_max") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def _process_count() -> int:
    return sum(1 for name in os.listdir("/proc") if name.isdigit())
