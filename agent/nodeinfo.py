"""What the node tells the cluster about itself: capacity, addresses, conditions, versions.

Read from the machine, never configured by hand:

  capacity     cpu (online CPUs, or fewer when the agent's own cgroup has a CPU
               quota), memory (MemTotal, or the agent's cgroup memory limit when
               lower: a node in a container or a lab namespace reports what it
               can really use), ephemeral-storage (the size of the filesystem
               holding the agent's root dir), pods (configured, 110 by default)
  allocatable  capacity minus the reserved amounts (system and kube reserved,
               and the hard eviction threshold for memory), as the kubelet does
  conditions   Ready, MemoryPressure (available memory under the eviction
               threshold, 100Mi by default), DiskPressure (free space on the root
               dir's filesystem under 10%), PIDPressure (processes over 90% of
               pid_max); each keeps its lastTransitionTime while its status holds
  nodeInfo     kernel, OS image, architecture, machine and boot IDs, the runtime
"""

from __future__ import annotations

import os
import platform
import time

from .podstatus import rfc3339


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def meminfo() -> dict[str, int]:
    """/proc/meminfo in bytes."""
    values = {}
    for line in (_read("/proc/meminfo") or "").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            values[key] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return values


def own_cgroup_memory_limit() -> int | None:
    """The memory limit of the agent's own cgroup (v1 or v2), None when unlimited."""
    for line in (_read("/proc/self/cgroup") or "").splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "" and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            raw = _read(f"/sys/fs/cgroup{path}/memory.max")
        elif "memory" in controllers.split(","):
            raw = _read(f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes")
        else:
            continue
        if raw and raw != "max" and int(raw) < 2**60:
            return int(raw)
    return None


def own_cgroup_cpu_limit() -> float | None:
    for line in (_read("/proc/self/cgroup") or "").splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "" and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            raw = _read(f"/sys/fs/cgroup{path}/cpu.max")
            if raw and not raw.startswith("max"):
                quota, period = raw.split()
                return int(quota) / int(period)
        elif "cpu" in controllers.split(","):
            quota = _read(f"/sys/fs/cgroup/cpu,cpuacct{path}/cpu.cfs_quota_us") or _read(
                f"/sys/fs/cgroup/cpu{path}/cpu.cfs_quota_us")
            period = _read(f"/sys/fs/cgroup/cpu,cpuacct{path}/cpu.cfs_period_us") or _read(
                f"/sys/fs/cgroup/cpu{path}/cpu.cfs_period_us")
            if quota and period and int(quota) > 0:
                return int(quota) / int(period)
    return None


def capacity(root_dir: str, max_pods: int = 110) -> dict[str, str]:
    cpus = len(os.sched_getaffinity(0))
    quota = own_cgroup_cpu_limit()
    cpu_milli = int(min(cpus, quota) * 1000) if quota else cpus * 1000
    memory = meminfo().get("MemTotal", 0)
    limit = own_cgroup_memory_limit()
    if limit is not None:
        memory = min(memory, limit)
    fs = os.statvfs(root_dir)
    return {
        "cpu": str(cpu_milli // 1000) if cpu_milli % 1000 == 0 else f"{cpu_milli}m",
        "memory": f"{memory // 1024}Ki",
        "ephemeral-storage": f"{fs.f_blocks * fs.f_frsize // 1024}Ki",
        "pods": str(max_pods),
    }


def allocatable(cap: dict[str, str], reserved_cpu_milli: int = 0,
                reserved_memory: int = 0, eviction_memory: int = 100 * 2**20) -> dict[str, str]:
    cpu = cap["cpu"]
    cpu_milli = int(cpu[:-1]) if cpu.endswith("m") else int(cpu) * 1000
    cpu_milli = max(cpu_milli - reserved_cpu_milli, 0)
    memory = int(cap["memory"][:-2]) * 1024 - reserved_memory - eviction_memory
    return {
        **cap,
        "cpu": str(cpu_milli // 1000) if cpu_milli % 1000 == 0 else f"{cpu_milli}m",
        "memory": f"{max(memory, 0) // 1024}Ki",
    }


def pressure(root_dir: str, memory_threshold: int = 100 * 2**20,
             disk_fraction: float = 0.10) -> dict[str, tuple[bool, str]]:
    """condition type -> (under pressure, message)."""
    info = meminfo()
    available = info.get("MemAvailable", info.get("MemFree", 0))
    limit = own_cgroup_memory_limit()
    if limit is not None:
        available = min(available, limit)
    fs = os.statvfs(root_dir)
    free_fraction = fs.f_bavail / fs.f_blocks if fs.f_blocks else 1.0
    pid_max = int(_read("/proc/sys/kernel/pid_max") or 4194304)
    processes = sum(1 for e in os.listdir("/proc") if e.isdigit())
    return {
        "MemoryPressure": (available < memory_threshold,
                           f"available memory {available // 2**20}Mi"),
        "DiskPressure": (free_fraction < disk_fraction,
                         f"{free_fraction:.0%} of {root_dir}'s filesystem free"),
        "PIDPressure": (processes > 0.9 * pid_max, f"{processes} of {pid_max} PIDs in use"),
    }


CONDITION_REASONS = {
    "MemoryPressure": ("KubeletHasSufficientMemory", "KubeletHasInsufficientMemory"),
    "DiskPressure": ("KubeletHasNoDiskPressure", "KubeletHasDiskPressure"),
    "PIDPressure": ("KubeletHasSufficientPID", "KubeletHasInsufficientPID"),
}


def conditions(old: list[dict], ready: tuple[bool, str],
               pressures: dict[str, tuple[bool, str]], now: float | None = None) -> list[dict]:
    now = time.time() if now is None else now
    previous = {c["type"]: c for c in old or []}
    result = []

    def add(kind: str, status: bool, reason: str, message: str) -> None:
        text = "True" if status else "False"
        before = previous.get(kind)
        since = before["lastTransitionTime"] if before and before.get("status") == text \
            else rfc3339(now)
        result.append({"type": kind, "status": text, "reason": reason, "message": message,
                       "lastHeartbeatTime": rfc3339(now), "lastTransitionTime": since})

    for kind, (under, message) in pressures.items():
        ok_reason, bad_reason = CONDITION_REASONS[kind]
        add(kind, under, bad_reason if under else ok_reason, message)
    is_ready, message = ready
    add("Ready", is_ready, "KubeletReady" if is_ready else "KubeletNotReady", message)
    return result


def node_info(runtime_version: str, agent_version: str) -> dict[str, str]:
    os_release = {}
    for line in (_read("/etc/os-release") or "").splitlines():
        key, _, value = line.partition("=")
        os_release[key] = value.strip('"')
    return {
        "machineID": _read("/etc/machine-id") or "",
        "systemUUID": _read("/sys/class/dmi/id/product_uuid") or "",
        "bootID": _read("/proc/sys/kernel/random/boot_id") or "",
        "kernelVersion": platform.release(),
        "osImage": os_release.get("PRETTY_NAME", "Linux"),
        "containerRuntimeVersion": runtime_version,
        "kubeletVersion": agent_version,
        "kubeProxyVersion": agent_version,
        "operatingSystem": "linux",
        "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(),
                                                                    platform.machine()),
    }
