"""What to do for a pod: a pure function of its spec and what the agent observes.

This is the kubelet's `computePodActions` for Supernetes. Given the pod (a dict
as the API serves it), a `PodObserved`, the clock, the back-off policy and the
containers whose liveness probe has failed, `compute_pod_actions` returns a
`PodActions`; executing them is `sync.py`'s job. Keeping the decision pure makes
every rule below testable by table, and makes a sync reentrant: run it twice on
the same observation and it asks for the same work.

The rules, in order:

  1. A pod being deleted, past its activeDeadlineSeconds, or evicted (a local
     storage limit exceeded, `eviction.py`) is killed whole.
  2. No sandbox (first sync, or the node lost it): make it. Containers still
     running in the lost namespaces are killed first (and the pass ends there);
     init containers that ran before the current sandbox existed run again.
  3. Init containers run one at a time, in order, each to completion. One that
     failed is restarted (with back-off) unless restartPolicy is Never, in which
     case the pod has failed and nothing more starts.
  4. Once every init container succeeded, each app container is started if it
     never ran, or if it exited and the restart policy says so (Always: any exit;
     OnFailure: a non-zero exit; Never: no), after the crash-loop back-off.
     A running container whose liveness probe failed, or whose spec changed, is
     killed (and restarted on the next pass by the same rule).
  5. Only the two newest attempts of each container are kept (the one before the
     newest is `lastState` and `logs --previous`); older ones are removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .backoff import BackoffPolicy
from .observed import CREATED, EXITED, RUNNING, ContainerRecord, PodObserved, spec_hash

ALWAYS, ON_FAILURE, NEVER = "Always", "OnFailure", "Never"


@dataclass(frozen=True)
class StartContainer:
    name: str
    init: bool
    attempt: int
    restart_streak: int
    spec_hash: str


@dataclass(frozen=True)
class KillContainer:
    id: str
    name: str
    reason: str  # shown in events: "liveness probe failed", "spec changed", ...


@dataclass(frozen=True)
class Waiting:
    reason: str  # CrashLoopBackOff, PodInitializing
    message: str = ""


@dataclass
class PodActions:
    kill_pod: str | None = None  # the reason, when the whole pod must go
    kill_message: str = ""       # what the pod's status says about it (Evicted)
    create_sandbox: bool = False
    kill: list[KillContainer] = field(default_factory=list)
    start: list[StartContainer] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)  # ids of superseded attempts
    waiting: dict[str, Waiting] = field(default_factory=dict)
    requeue_at: float | None = None  # when a back-off ends and a new pass is due

    def retry_at(self, when: float) -> None:
        self.requeue_at = when if self.requeue_at is None else min(self.requeue_at, when)


def should_restart(record: ContainerRecord, policy: str) -> bool:
    if policy == ALWAYS:
        return True
    if policy == ON_FAILURE:
        return record.exit_code != 0
    return False


def deadline_exceeded(pod: dict, now: float, start_time: float | None) -> bool:
    deadline = pod.get("spec", {}).get("activeDeadlineSeconds")
    return deadline is not None and start_time is not None and now - start_time >= deadline


def compute_pod_actions(pod: dict, observed: PodObserved, now: float,
                        backoff: BackoffPolicy | None = None,
                        liveness_failed: frozenset[str] = frozenset(),
                        start_time: float | None = None,
                        evicted: str | None = None) -> PodActions:
    backoff = backoff or BackoffPolicy()
    spec = pod.get("spec", {})
    policy = spec.get("restartPolicy", ALWAYS)
    actions = PodActions()

    if pod.get("metadata", {}).get("deletionTimestamp"):
        actions.kill_pod = "pod is being deleted"
        return actions
    if deadline_exceeded(pod, now, start_time):
        actions.kill_pod = "DeadlineExceeded"
        return actions
    if evicted:
        actions.kill_pod, actions.kill_message = "Evicted", evicted
        return actions

    if not observed.sandbox_ready:
        actions.create_sandbox = True
        live = [r for r in observed.records if r.state in (CREATED, RUNNING)]
        if live:  # they run in namespaces that are gone: stop them, then start afresh
            actions.kill = [KillContainer(r.id, r.name, "pod sandbox is gone") for r in live]
            actions.retry_at(now)
            return actions
    # Init containers that ran before the current sandbox existed must run again.
    sandbox_since = observed.sandbox_created_at if observed.sandbox_ready else now

    for name in {r.name for r in observed.records}:
        older = sorted(observed.older(name), key=lambda r: r.attempt)
        # keep the attempt just before the newest: it is `lastState` and `logs --previous`
        actions.remove += [r.id for r in older[:-1] if r.state == EXITED]

    if not _init_containers(actions, spec, observed, policy, now, backoff, sandbox_since):
        for container in spec.get("containers", []):
            actions.waiting.setdefault(container["name"], Waiting("PodInitializing"))
        return actions

    for container in spec.get("containers", []):
        _app_container(actions, container, observed, policy, now, backoff, liveness_failed)
    return actions


def _init_containers(actions: PodActions, spec: dict, observed: PodObserved, policy: str,
                     now: float, backoff: BackoffPolicy, sandbox_since: float | None) -> bool:
    """Advance the init sequence; True once every init container has succeeded."""
    for container in spec.get("initContainers") or []:
        latest = observed.latest(container["name"])
        if latest is None:
            _start(actions, container, True, None, backoff)
            return False
        if latest.state == EXITED and sandbox_since and (latest.started_at or 0) < sandbox_since:
            _start(actions, container, True, latest, backoff)  # ran in an older sandbox
            return False
        if latest.state == CREATED:  # made but never started: an agent died mid-way
            actions.kill.append(KillContainer(latest.id, latest.name, "never started"))
            _start(actions, container, True, latest, backoff, same_attempt=True)
            return False
        if latest.state == RUNNING:
            return False
        if latest.exit_code == 0:
            continue
        if policy == NEVER:
            return False  # the pod has failed: podstatus reports it
        _restart_after_backoff(actions, container, True, latest, now, backoff)
        return False
    return True


def _app_container(actions: PodActions, container: dict, observed: PodObserved, policy: str,
                   now: float, backoff: BackoffPolicy, liveness_failed: frozenset[str]) -> None:
    name = container["name"]
    latest = observed.latest(name)
    if latest is None:
        _start(actions, container, False, None, backoff)
    elif latest.state == CREATED:
        actions.kill.append(KillContainer(latest.id, name, "never started"))
        _start(actions, container, False, latest, backoff, same_attempt=True)
    elif latest.state == RUNNING:
        if name in liveness_failed:
            actions.kill.append(KillContainer(latest.id, name, "liveness probe failed"))
        elif latest.spec_hash and latest.spec_hash != spec_hash(container):
            actions.kill.append(KillContainer(latest.id, name, "container spec changed"))
    elif should_restart(latest, policy):
        _restart_after_backoff(actions, container, False, latest, now, backoff)


def _restart_after_backoff(actions: PodActions, container: dict, init: bool,
                           latest: ContainerRecord, now: float, backoff: BackoffPolicy) -> None:
    ready_at = backoff.ready_at(latest)
    if now < ready_at:
        delay = backoff.delay_after(latest)
        actions.waiting[container["name"]] = Waiting(
            "CrashLoopBackOff",
            f"back-off {delay:g}s restarting failed container={container['name']}",
        )
        actions.retry_at(ready_at)
        return
    _start(actions, container, init, latest, backoff)


def _start(actions: PodActions, container: dict, init: bool, previous: ContainerRecord | None,
           backoff: BackoffPolicy, same_attempt: bool = False) -> None:
    if previous is None:
        attempt, streak = 0, 0
    elif same_attempt or previous.state != EXITED:
        attempt, streak = previous.attempt, previous.restart_streak
    else:
        attempt, streak = previous.attempt + 1, backoff.streak_after(previous)
    actions.start.append(StartContainer(container["name"], init, attempt, streak,
                                        spec_hash(container)))
