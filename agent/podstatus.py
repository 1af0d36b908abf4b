"""What to report for a pod: phase, conditions and container states, as Kubernetes does.

A pure function, like `actions.py`: `compute_pod_status` turns the pod, the
observation, the waiting reasons (from the actions and from failed steps such as
an image pull) and the probe results into the `status` the agent writes last in
every sync. The rules are the kubelet's (`getPhase`, `generateAPIPodStatus`):

  phase      Pending until every container has started; Running while any runs
             (or restarts under Always/OnFailure); Succeeded when all exited 0 and
             none will restart; Failed when one failed and none will restart, or
             an init container failed under restartPolicy Never.
  conditions PodReadyToStartContainers (sandbox made), Initialized (init
             containers done), ContainersReady and Ready (every app container
             running and passing its readiness probe), PodScheduled (kept);
             a condition keeps its lastTransitionTime while its status holds.
  containers state running / waiting (ContainerCreating, PodInitializing,
             CrashLoopBackOff, ErrImagePull, ...) / terminated (Completed, Error,
             OOMKilled), lastState from the previous attempt, restartCount =
             the newest attempt number, ready, started.
"""

from __future__ import annotations

import time

from .actions import NEVER, PodActions, Waiting
from .observed import EXITED, RUNNING, ContainerRecord, PodObserved

RUNTIME_SCHEME = "superc://"


def rfc3339(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _terminated(record: ContainerRecord, scheme: str) -> dict:
    if record.reason:
        reason = record.reason
    else:
        reason = "Completed" if record.exit_code == 0 else "Error"
    terminated = {
        "exitCode": record.exit_code if record.exit_code is not None else 0,
        "reason": reason,
        "startedAt": rfc3339(record.started_at),
        "finishedAt": rfc3339(record.finished_at),
        "containerID": scheme + record.id,
    }
    if record.message:
        terminated["message"] = record.message
    return terminated


def container_status(container: dict, observed: PodObserved, waiting: Waiting | None,
                     ready: bool, started: bool, scheme: str = RUNTIME_SCHEME) -> dict:
    name = container["name"]
    latest = observed.latest(name)
    older = sorted(observed.older(name), key=lambda r: r.attempt)
    status: dict = {
        "name": name,
        "image": container.get("image", ""),
        "imageID": "",
        "restartCount": latest.attempt if latest else 0,
        "ready": False,
        "started": False,
        "lastState": {},
    }
    if latest is not None:
        status["imageID"] = latest.image_id
        status["containerID"] = scheme + latest.id
    previous = latest if latest is not None and latest.state == EXITED and waiting else (
        older[-1] if older else None)
    if previous is not None and previous.state == EXITED:
        status["lastState"] = {"terminated": _terminated(previous, scheme)}
    if waiting is not None:
        status["state"] = {"waiting": {"reason": waiting.reason, "message": waiting.message}
                           if waiting.message else {"reason": waiting.reason}}
    elif latest is None or latest.state not in (RUNNING, EXITED):
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
    elif latest.state == RUNNING:
        status["state"] = {"running": {"startedAt": rfc3339(latest.started_at)}}
        status["started"] = started
        status["ready"] = ready and started
    else:
        status["state"] = {"terminated": _terminated(latest, scheme)}
    return status


def compute_phase(pod: dict, observed: PodObserved, init_done: bool) -> str:
    spec = pod.get("spec", {})
    policy = spec.get("restartPolicy", "Always")
    for container in spec.get("initContainers") or []:
        latest = observed.latest(container["name"])
        if latest is not None and latest.state == EXITED and latest.exit_code != 0 \
                and policy == NEVER:
            return "Failed"
    if not init_done:
        return "Pending"
    running = stopped = succeeded = waiting = 0
    for container in spec.get("containers", []):
        latest = observed.latest(container["name"])
        if latest is None or latest.state not in (RUNNING, EXITED):
            waiting += 1
        elif latest.state == RUNNING:
            running += 1
        else:  # exited, whether or not it is about to restart
            stopped += 1
            succeeded += latest.exit_code == 0
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if not stopped:
        return "Pending"
    if policy == "Always":
        return "Running"  # every container is on its way back
    if stopped == succeeded:
        return "Succeeded"
    return "Failed" if policy == NEVER else "Running"


def _condition(old_status: dict, kind: str, ok: bool, now: float, reason: str = "",
               message: str = "") -> dict:
    status = "True" if ok else "False"
    previous = next((c for c in old_status.get("conditions", []) if c.get("type") == kind), None)
    since = previous.get("lastTransitionTime") if previous and previous.get("status") == status \
        else rfc3339(now)
    condition = {"type": kind, "status": status, "lastProbeTime": None,
                 "lastTransitionTime": since}
    if not ok and reason:
        condition["reason"] = reason
        condition["message"] = message
    return condition


def compute_pod_status(pod: dict, observed: PodObserved, actions: PodActions, now: float,
                       failures: dict[str, Waiting] | None = None,
                       readiness: dict[str, bool] | None = None,
                       startup: dict[str, bool] | None = None,
                       pod_ip: str | None = None, host_ip: str | None = None,
                       start_time: float | None = None,
                       scheme: str = RUNTIME_SCHEME) -> dict:
    """The pod's new `status`. `failures` (name -> Waiting) win over the actions'."""
    spec = pod.get("spec", {})
    old = pod.get("status", {})
    waiting = {**actions.waiting, **(failures or {})}
    readiness = readiness or {}
    startup = startup or {}

    def ready_of(container: dict) -> bool:
        probe = container.get("readinessProbe")
        return readiness.get(container["name"], False) if probe else True

    def started_of(container: dict) -> bool:
        probe = container.get("startupProbe")
        return startup.get(container["name"], False) if probe else True

    init_statuses = []
    pending_init = []
    for container in spec.get("initContainers") or []:
        s = container_status(container, observed, waiting.get(container["name"]), False, False,
                             scheme)
        latest = observed.latest(container["name"])
        done = latest is not None and latest.state == EXITED and latest.exit_code == 0 \
            and container["name"] not in waiting and not any(
                st.name == container["name"] for st in actions.start)
        s["ready"] = done
        if not done:
            pending_init.append(container["name"])
        init_statuses.append(s)
    init_done = not pending_init

    statuses = [container_status(c, observed, waiting.get(c["name"]), ready_of(c),
                                 started_of(c), scheme)
                for c in spec.get("containers", [])]
    unready = [s["name"] for s in statuses if not s["ready"]]

    phase = compute_phase(pod, observed, init_done)
    reason = message = None
    if actions.kill_pod == "DeadlineExceeded":
        phase, reason = "Failed", "DeadlineExceeded"
        message = "Pod was active on the node longer than the specified deadline"
    elif actions.kill_pod == "Evicted":
        phase, reason, message = "Failed", "Evicted", actions.kill_message
    conditions = [
        _condition(old, "PodReadyToStartContainers", observed.sandbox_ready, now),
        _condition(old, "Initialized", init_done, now, "ContainersNotInitialized",
                   f"containers with incomplete status: [{' '.join(pending_init)}]"),
        _condition(old, "Ready", not unready, now, "ContainersNotReady",
                   f"containers with unready status: [{' '.join(unready)}]"),
        _condition(old, "ContainersReady", not unready, now, "ContainersNotReady",
                   f"containers with unready status: [{' '.join(unready)}]"),
        _condition(old, "PodScheduled", True, now),
    ]
    if phase in ("Succeeded", "Failed"):  # a finished pod is not ready, whatever it says
        for c in conditions[2:4]:
            c.update(status="False", reason="PodCompleted", message="")
    status = {
        "phase": phase,
        "reason": reason,
        "message": message,
        "conditions": conditions,
        "hostIP": host_ip,
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}] if pod_ip else [],
        "startTime": rfc3339(start_time),
        "containerStatuses": statuses,
    }
    if host_ip:
        status["hostIPs"] = [{"ip": host_ip}]
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    return {k: v for k, v in status.items() if v is not None}
