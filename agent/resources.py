"""Requests and limits -> the container's cgroup and OOM score, as the kubelet computes them.

Pure functions over the pod spec; `sync.py` puts their result into config.json.

  cpu       requests.cpu -> cpu.shares = milli * 1024 / 1000 (at least 2, the
            kernel's minimum; 2 also for a container without a request);
            limits.cpu -> CFS quota = milli * period / 1000 with period
            100000 us (at least 1000 us, the kernel's minimum)
  memory    limits.memory -> memory limit (the OOM killer acts above it)
  pids      the node's configured per-container limit (kubelet's podPidsLimit)
  QoS       Guaranteed: every container has cpu and memory limits equal to its
            requests; BestEffort: no container has any request or limit;
            Burstable: everything else. Written to status.qosClass.
  OOM score Guaranteed -997, BestEffort 1000, Burstable
            1000 - 1000 * memory request / node memory, within [2, 999]: the
            kernel kills BestEffort first and Guaranteed last. (The kubelet's
            `GetContainerOOMScoreAdjust`.)

Requests default to limits when only limits are given (the API server's
defaulting does that for pods; doing it again here keeps the rule local).
"""

from __future__ import annotations

from supernetes.controlplane.api.quantity import int_value, milli_value

GUARANTEED, BURSTABLE, BEST_EFFORT = "Guaranteed", "Burstable", "BestEffort"
CPU_PERIOD = 100_000
MIN_SHARES, MAX_SHARES = 2, 262_144
MIN_QUOTA = 1000
GUARANTEED_OOM_SCORE, BEST_EFFORT_OOM_SCORE = -997, 1000


def _amounts(container: dict) -> tuple[dict, dict]:
    resources = container.get("resources") or {}
    limits = dict(resources.get("limits") or {})
    requests = dict(resources.get("requests") or {})
    for name, value in limits.items():
        requests.setdefault(name, value)
    return requests, limits


def qos_class(pod: dict) -> str:
    spec = pod.get("spec") or {}
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    any_set = False
    guaranteed = True
    for container in containers:
        requests, limits = _amounts(container)
        for name in ("cpu", "memory"):
            if name in requests or name in limits:
                any_set = True
            if name not in limits or milli_value(requests.get(name, "0")) != milli_value(
                    limits[name]):
                guaranteed = False
    if not any_set:
        return BEST_EFFORT
    return GUARANTEED if guaranteed else BURSTABLE


def oom_score_adj(pod: dict, container: dict, node_memory: int) -> int:
    qos = qos_class(pod)
    if qos == GUARANTEED:
        return GUARANTEED_OOM_SCORE
    if qos == BEST_EFFORT:
        return BEST_EFFORT_OOM_SCORE
    requests, _ = _amounts(container)
    memory = int_value(requests["memory"]) if "memory" in requests else 0
    score = 1000 - (1000 * memory) // node_memory if node_memory > 0 else 1000
    return min(max(score, 2), 999)


def linux_resources(container: dict, pids_limit: int = -1) -> dict:
    """The OCI `linux.resources` for a container (devices are the runtime default's)."""
    requests, limits = _amounts(container)
    cpu: dict = {"shares": MIN_SHARES}
    if "cpu" in requests:
        shares = milli_value(requests["cpu"]) * 1024 // 1000
        cpu["shares"] = min(max(shares, MIN_SHARES), MAX_SHARES)
    if "cpu" in limits:
        cpu["quota"] = max(milli_value(limits["cpu"]) * CPU_PERIOD // 1000, MIN_QUOTA)
        cpu["period"] = CPU_PERIOD
    resources: dict = {"cpu": cpu}
    if "memory" in limits:
        resources["memory"] = {"limit": int_value(limits["memory"])}
    if pids_limit > 0:
        resources["pids"] = {"limit": pids_limit}
    return resources
