"""The agent's Prometheus metrics: what the core observes, and the text at /metrics.

The agent core observes into one `Registry` (handed to the node view):

    registry.pod_sync.observe(seconds)       each sync_pod
    registry.pod_start.observe(seconds)      a pod's creation -> Running, once
    registry.pleg_relist.observe(seconds)    each relist of the runtime
    registry.runtime_errors.inc("create")    a failed runtime operation, by kind

`render` writes them in the Prometheus text format (0.0.4) under the kubelet's
names, followed by the resource metrics the kubelet serves at /metrics/resource
(node, pod and container CPU seconds and working-set bytes, taken from the stats
summary, `stats.py`), the counts of running pods and containers, and the agent
process's own CPU and memory. Names match the kubelet's, so dashboards and
`kubectl get --raw .../proxy/metrics` users find what they know.
"""

from __future__ import annotations

import bisect
import os
import resource
import threading
import time

from . import logs

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The kubelet's buckets for pod worker and start durations (seconds).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_STARTED = time.time()


class Histogram:
    def __init__(self, name: str, help_text: str, buckets=DURATION_BUCKETS) -> None:
        self.name, self.help = name, help_text
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)   # the last one is +Inf
        self.sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self.counts[bisect.bisect_left(self.buckets, value)] += 1
            self.sum += value

    def lines(self) -> list[str]:
        with self._lock:
            counts, total = list(self.counts), self.sum
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        running = 0
        for bound, count in zip((*self.buckets, "+Inf"), counts, strict=True):
            running += count
            out.append(f'{self.name}_bucket{{le="{bound}"}} {running}')
        out += [f"{self.name}_sum {_number(total)}", f"{self.name}_count {running}"]
        return out


class Counter:
    """A counter with one label."""

    def __init__(self, name: str, help_text: str, label: str) -> None:
        self.name, self.help, self.label = name, help_text, label
        self.values: dict[str, float] = {}
        self._lock = threading.Lock()

    def inc(self, label_value: str, amount: float = 1) -> None:
        with self._lock:
            self.values[label_value] = self.values.get(label_value, 0) + amount

    def lines(self) -> list[str]:
        with self._lock:
            values = sorted(self.values.items())
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        out += [f'{self.name}{{{self.label}="{_escape(v)}"}} {_number(n)}' for v, n in values]
        return out


class Registry:
    def __init__(self) -> None:
        self.pod_sync = Histogram("kubelet_pod_worker_duration_seconds",
                                  "Duration in seconds to sync a single pod.")
        self.pod_start = Histogram("kubelet_pod_start_duration_seconds",
                                   "Duration in seconds from a pod's creation to Running.")
        self.pleg_relist = Histogram("kubelet_pleg_relist_duration_seconds",
                                     "Duration in seconds for relisting pods in the PLEG.")
        self.runtime_errors = Counter("kubelet_runtime_operations_errors_total",
                                      "Cumulative number of runtime operation errors by "
                                      "operation type.", "operation_type")

    def families(self) -> list:
        return [self.pod_sync, self.pod_start, self.pleg_relist, self.runtime_errors]


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _gauge(out: list[str], name: str, kind: str, help_text: str, samples) -> None:
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    out += [f"{name}{labels} {_number(value)}" for labels, value in samples]


def _resource_lines(summary: dict) -> list[str]:
    """The kubelet's /metrics/resource, from the stats summary."""
    out: list[str] = []
    node = summary.get("node") or {}
    cpu_seconds = ((node.get("cpu") or {}).get("usageCoreNanoSeconds") or 0) / 1e9
    _gauge(out, "node_cpu_usage_seconds_total", "counter",
           "Cumulative cpu time consumed by the node in core-seconds", [("", cpu_seconds)])
    _gauge(out, "node_memory_working_set_bytes", "gauge",
           "Current working set of the node in bytes",
           [("", (node.get("memory") or {}).get("workingSetBytes") or 0)])
    pods = summary.get("pods") or []
    pod_cpu, pod_mem, ctr_cpu, ctr_mem, ctr_start = [], [], [], [], []
    for pod in pods:
        ref = pod.get("podRef") or {}
        pod_labels = _labels(namespace=ref.get("namespace", ""), pod=ref.get("name", ""))
        pod_cpu.append((pod_labels, ((pod.get("cpu") or {}).get("usageCoreNanoSeconds") or 0)
                        / 1e9))
        pod_mem.append((pod_labels, (pod.get("memory") or {}).get("workingSetBytes") or 0))
        for c in pod.get("containers") or []:
            labels = _labels(container=c.get("name", ""), namespace=ref.get("namespace", ""),
                             pod=ref.get("name", ""))
            ctr_cpu.append((labels, ((c.get("cpu") or {}).get("usageCoreNanoSeconds") or 0)
                            / 1e9))
            ctr_mem.append((labels, (c.get("memory") or {}).get("workingSetBytes") or 0))
            if c.get("startTime"):
                ctr_start.append((labels, logs.parse_time(c["startTime"])))
    _gauge(out, "pod_cpu_usage_seconds_total", "counter",
           "Cumulative cpu time consumed by the pod in core-seconds", pod_cpu)
    _gauge(out, "pod_memory_working_set_bytes", "gauge",
           "Current working set of the pod in bytes", pod_mem)
    _gauge(out, "container_cpu_usage_seconds_total", "counter",
           "Cumulative cpu time consumed by the container in core-seconds", ctr_cpu)
    _gauge(out, "container_memory_working_set_bytes", "gauge",
           "Current working set of the container in bytes", ctr_mem)
    _gauge(out, "container_start_time_seconds", "gauge",
           "Start time of the container since unix epoch in seconds", ctr_start)
    _gauge(out, "kubelet_running_pods", "gauge",
           "Number of pods that have a running pod sandbox", [("", len(pods))])
    _gauge(out, "kubelet_running_containers", "gauge", "Number of containers currently running",
           [(_labels(container_state="running"),
             sum(len(p.get("containers") or []) for p in pods))])
    return out


def _process_lines() -> list[str]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = 0
    try:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    out: list[str] = []
    _gauge(out, "process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.",
           [("", usage.ru_utime + usage.ru_stime)])
    _gauge(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           [("", rss)])
    _gauge(out, "process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.", [("", _STARTED)])
    return out


def render(registry: Registry, summary: dict | None) -> str:
    """The whole exposition: the core's metrics, resource metrics, the process's own."""
    lines: list[str] = []
    for family in registry.families():
        lines += family.lines()
    if summary is not None:
        lines += _resource_lines(summary)
    lines += _process_lines()
    return "\n".join(lines) + "\n"
