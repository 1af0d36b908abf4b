"""The `kubectl get pods` table, with STATUS and RESTARTS computed as kubectl's
pod printer does (`Init:0/1`, `Init:CrashLoopBackOff`, `CrashLoopBackOff`,
`Completed`, `ExitCode:1`, `Terminating`, `NotReady`, `3 (5m ago)`).
"""

from __future__ import annotations

from datetime import datetime

from .. import meta, tables
from ..tables import column

COLUMNS = [
    tables.NAME,
    column("Ready", "string", "The aggregate readiness state of this pod for accepting "
           "traffic."),
    column("Status", "string", "The aggregate status of the containers in this pod."),
    column("Restarts", "string", "The number of times the containers in this pod have been "
           "restarted and when the last container in this pod has restarted."),
    tables.AGE,
    column("IP", "string", "podIP address allocated to the pod. Routable at least within "
           "the cluster. Empty if not yet allocated.", priority=1),
    column("Node", "string", "NodeName indicates in which node this pod is scheduled.",
           priority=1),
    column("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts "
           "other pods on the node.", priority=1),
    column("Readiness Gates", "string", "If specified, all readiness gates will be evaluated "
           "for pod readiness.", priority=1),
]


def _sidecar(container: dict | None) -> bool:
    return bool(container) and container.get("restartPolicy") == "Always"


def _finished_at(status: dict) -> datetime | None:
    terminated = (status.get("lastState") or {}).get("terminated") or {}
    return meta.parse_time(terminated.get("finishedAt"))


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _has_condition(status: dict, type_: str) -> bool:
    return meta.condition_true(status, type_)


def row(pod: dict) -> list:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(spec.get("containers") or []) + sum(1 for c in init_specs.values()
                                                     if _sidecar(c))
    ready = restarts = sidecar_restarts = 0
    last_restart = last_sidecar_restart = None

    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += cs.get("restartCount", 0)
        last_restart = _later(last_restart, _finished_at(cs))
        is_sidecar = _sidecar(init_specs.get(cs.get("name")))
        if is_sidecar:
            sidecar_restarts += cs.get("restartCount", 0)
            last_sidecar_restart = _later(last_sidecar_restart, _finished_at(cs))
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and terminated.get("exitCode", 0) == 0:
            continue
        if is_sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            if terminated.get("reason"):
                reason = "Init:" + terminated["reason"]
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode', 0)}"
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _has_condition(status, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            last_restart = _later(last_restart, _finished_at(cs))
            state = cs.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                reason = (f"Signal:{terminated['signal']}" if terminated.get("signal")
                          else f"ExitCode:{terminated.get('exitCode', 0)}")
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(status, "Ready") else "NotReady"

    deleting = (pod.get("metadata") or {}).get("deletionTimestamp")
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({tables.since(meta.format_time(last_restart))} ago)"

    ips = status.get("podIPs") or []
    pod_ip = (ips[0].get("ip") if ips else "") or "<none>"
    gates = spec.get("readinessGates") or []
    gates_text = "<none>"
    if gates:
        true_count = sum(1 for g in gates if _has_condition(status, g.get("conditionType")))
        gates_text = f"{true_count}/{len(gates)}"
    return [tables.name(pod), f"{ready}/{total}", reason, restarts_text, tables.age(pod),
            pod_ip, spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", gates_text]


def table(pods: list[dict], wide: bool = True):
    return tables.build(COLUMNS, row, pods, wide)
