"""SyncPod: make one pod on this node what its spec says, then report what it is.

`PodSyncer.sync(uid)` is the kubelet's SyncPod "transaction script", run by a pod
worker for one pod UID at a time (the work queue never hands one UID to two
workers). It is reentrant and level-triggered: every pass starts from what it
observes, so running it again after a crash, an error or a spurious wake-up is
always safe. The steps, in DESIGN.md's order:

  0. the pod: from the informer cache by UID; gone from the API means an orphan,
     which is stopped (short grace, no hooks) and removed;
  1. observe: each of the pod's containers re-read from the runtime (the PLEG's
     index knows which), the sandbox's namespaces;
  2. decide: `compute_pod_actions` (pure, `actions.py`), told whether the pod is
     evicted: its local storage is measured every `eviction.period()` seconds
     against its emptyDir sizeLimits and ephemeral-storage limits (`eviction.py`);
  3. a pod being deleted (or past its deadline, or evicted) is stopped gracefully
     (`terminate.py`), then torn down (`teardown.py`) and finally deleted from the
     API with grace 0 so the API server lets it go;
  4. network: the sandbox's namespaces, the veth and the IP;
  5. volumes, the pod's /etc files and its /dev/shm;
  6. images and containers: kill what must go, remove superseded attempts,
     start what must run (`starter.py`), register probes;
  7. status, last: `compute_pod_status` (pure, `podstatus.py`) written through
     pods/{name}/status only when it differs from what the API has;
  8. requeue: when a back-off or a grace period ends, when local storage is due
     to be measured, and at least every `sync_frequency` (configMap and secret
     volumes are refreshed then).

Errors of a container become its waiting reason (ErrImagePull,
CreateContainerConfigError, RunContainerError...) and an Event, never an
exception out of the worker; an error of the pod's own setup (sandbox, network,
volumes) is raised, and the work queue retries the pod with back-off.
"""

from __future__ import annotations

import json
import logging
import os
import time

from supernetes.controlplane.client import Conflict, NotFound

from . import eviction, podfiles, teardown
from .actions import Waiting, compute_pod_actions
from .logs import log_files
from .observed import CREATED, PodObserved
from .podstatus import compute_pod_status
from .probes import READINESS, STARTUP
from .resources import qos_class
from .runtimes.base import ContainerNotFound, ContainerRuntimeError
from .starter import PodContext, StartError, log_path
from .volumes import VolumeError

log = logging.getLogger(__name__)


class PodSetupError(Exception):
    """The pod's sandbox, network or volumes could not be set up (retried)."""


def parse_time(text: str | None) -> float | None:
    from .runtimes.base import parse_rfc3339

    return parse_rfc3339(text)


class PodSyncer:
    def __init__(self, agent):
        self.agent = agent
        self._volumes_at: dict[str, float] = {}   # uid -> when volumes were last set up
        self._written: dict[str, str] = {}         # uid -> the status last written
        self._failures: dict[tuple[str, str], str] = {}  # (uid, container) -> last reason
        self._deleting_since: dict[str, float] = {}
        self._started: set[str] = set()             # pods whose start was measured
        self._evicted: dict[str, str] = {}          # uid -> the eviction message
        self._measured_at: dict[str, float] = {}    # uid -> when its storage was measured

    # --- the script ------------------------------------------------------------------------

    def sync(self, uid: str) -> float | None:
        """One pass over the pod; returns when the next pass is due (epoch), or None."""
        agent = self.agent
        pod = agent.pod_by_uid(uid)
        if pod is None:
            return self._sync_orphan(uid)
        agent.remember_pod(pod)
        now = time.time()
        observed = self.observe(uid)
        start_time = parse_time((pod.get("status") or {}).get("startTime")) or now
        actions = compute_pod_actions(pod, observed, now, agent.config.crash_backoff,
                                      agent.probes.liveness_failed(uid), start_time,
                                      evicted=self._eviction(pod, observed, now))
        if actions.kill_pod:
            return self._stop_pod(pod, actions, start_time)
        self._deleting_since.pop(uid, None)

        if actions.create_sandbox and actions.kill:
            # Containers of a lost sandbox: stop them before a new sandbox is made.
            self._kill(pod, actions.kill, grace=0)
            self._write_status(pod, observed, actions, now, {}, start_time, None)
            return now + 1.0
        ctx = self._prepare(pod, now)
        self._kill(pod, actions.kill, grace=_grace(pod))
        self._remove(uid, actions.remove)

        failures: dict[str, Waiting] = {}
        retry_at = actions.requeue_at
        containers = {c["name"]: c for c in _all_containers(pod)}
        for start in actions.start:
            container = containers[start.name]
            try:
                agent.starter.start(ctx, container, start.init, start.attempt,
                                    start.restart_streak)
                self._failures.pop((uid, start.name), None)
            except StartError as exc:
                failures[start.name] = Waiting(exc.reason, exc.message)
                self._report_failure(pod, start.name, start.init, exc)
                again = exc.retry_at or now + min(agent.config.crash_backoff.initial, 10.0)
                retry_at = again if retry_at is None else min(retry_at, again)
        for name, waiting in actions.waiting.items():
            if waiting.reason == "CrashLoopBackOff":
                self._report_backoff(pod, name, waiting)
        if actions.start:
            observed = self.observe(uid)
        self._register_probes(pod, observed, ctx)
        self._write_status(pod, observed, actions, now, failures, start_time, ctx.pod_ip)
        if uid in self._measured_at:
            measure_at = self._measured_at[uid] + eviction.period(agent.config.sync_frequency)
            retry_at = measure_at if retry_at is None else min(retry_at, measure_at)
        return retry_at

    # --- 1. observe ------------------------------------------------------------------------

    def observe(self, uid: str) -> PodObserved:
        agent = self.agent
        for info in agent.index.infos(uid):
            try:
                agent.index.put(agent.runtime.info(info.id))
            except ContainerNotFound:
                agent.index.forget(info.id)
            except ContainerRuntimeError as exc:
                log.warning("pod %s: reading container %s: %s", uid, info.id, exc)
        ready, created_at = agent.sandbox_state(uid)
        return PodObserved(sandbox_ready=ready, sandbox_created_at=created_at,
                           records=agent.index.records(uid))

    # --- 2. eviction ---------------------------------------------------------------------

    def _eviction(self, pod: dict, observed: PodObserved, now: float) -> str | None:
        """The pod's eviction message: known, or found by measuring its local storage now."""
        uid = pod["metadata"]["uid"]
        evicted = self._evicted.get(uid) or eviction.evicted_message(pod)
        if evicted or pod["metadata"].get("deletionTimestamp") or \
                (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") or \
                not eviction.needs_watching(pod):
            return evicted
        if now - self._measured_at.get(uid, 0.0) < eviction.period(
                self.agent.config.sync_frequency):
            return None
        self._measured_at[uid] = now
        message = eviction.check(
            pod, lambda volume: self.agent.volumes.empty_dir_path(uid, volume),
            lambda container: self._container_usage(pod, observed, container))
        if message:
            log.info("evicting pod %s/%s: %s", pod["metadata"].get("namespace"),
                     pod["metadata"]["name"], message)
            self._evicted[uid] = message
            self.agent.record(pod, "Warning", eviction.REASON, message)
        return message

    def _container_usage(self, pod: dict, observed: PodObserved, name: str) -> int:
        """Bytes of a container's newest attempt: its writable layer and its logs."""
        latest = observed.latest(name)
        if latest is None:
            return 0
        try:
            used = self.agent.images.service.snapshots.container_size(latest.id)
        except (OSError, ValueError):
            used = 0  # no snapshot (yet, or any more): nothing written there
        for path in log_files(log_path(self.agent.config.logs_dir, pod, name, latest.attempt)):
            try:
                used += os.stat(path).st_blocks * 512
            except FileNotFoundError:
                pass
        return used

    # --- 3. stopping a pod -----------------------------------------------------------------

    def _stop_pod(self, pod: dict, actions, start_time: float) -> float | None:
        agent = self.agent
        uid = pod["metadata"]["uid"]
        now = time.time()
        deleting = bool(pod["metadata"].get("deletionTimestamp"))
        if deleting:
            since = self._deleting_since.setdefault(uid, now)
            grace = pod["metadata"].get("deletionGracePeriodSeconds")
            grace = _grace(pod) if grace is None else float(grace)
            grace = max(since + grace - now, 0.0)
        elif actions.kill_pod == "Evicted":
            grace = eviction.EVICTION_GRACE
        else:
            grace = _grace(pod)
        due = self._stop_containers(uid, pod, grace, run_pre_stop=True)
        if due is not None:
            if not deleting:
                self._write_status(pod, self.observe(uid), actions, now, {}, start_time,
                                   agent.pod_ip(uid))
            return due
        if not deleting:  # activeDeadlineSeconds or evicted: the pod stays, Failed
            self._write_status(pod, self.observe(uid), actions, now, {}, start_time,
                               agent.pod_ip(uid))
            return None
        teardown.pod(agent, uid)
        self._forget(uid)
        try:
            agent.pods_api.delete(pod["metadata"]["name"], pod["metadata"]["namespace"],
                                  grace_period_seconds=0,
                                  preconditions={"uid": uid})
        except (NotFound, Conflict):
            pass  # already gone, or a new pod of that name
        return None

    def _stop_containers(self, uid: str, pod: dict | None, grace: float,
                         run_pre_stop: bool) -> float | None:
        """Advance the stop of every live container; None once all have exited."""
        agent = self.agent
        specs = {c["name"]: c for c in _all_containers(pod)} if pod else {}
        pending = []
        for info in agent.index.infos(uid):
            name = info.annotations.get("io.supernetes.container.name", "")
            done = agent.terminator.stop(uid, info, specs.get(name), grace,
                                         pod_ip=agent.pod_ip(uid), pod_netns=agent.netns_of(uid),
                                         run_pre_stop=run_pre_stop)
            if not done:
                pending.append(agent.terminator.deadline_of(info.id) or time.time() + 1.0)
        if not pending:
            return None
        return min(min(pending), time.time() + 1.0)

    def _sync_orphan(self, uid: str) -> float | None:
        """A pod the API no longer has: stop its containers and remove every trace."""
        agent = self.agent
        if not agent.has_local_state(uid):
            agent.probes.remove_pod(uid)
            self._forget(uid)
            return None
        self.observe(uid)
        due = self._stop_containers(uid, agent.local_pod(uid), agent.config.orphan_grace,
                                    run_pre_stop=False)
        if due is not None:
            return due
        teardown.pod(agent, uid)
        self._forget(uid)
        return None

    def _forget(self, uid: str) -> None:
        self._started.discard(uid)
        self._volumes_at.pop(uid, None)
        self._written.pop(uid, None)
        self._deleting_since.pop(uid, None)
        self._evicted.pop(uid, None)
        self._measured_at.pop(uid, None)
        for key in [k for k in self._failures if k[0] == uid]:
            del self._failures[key]

    # --- 4, 5. network, volumes, files -----------------------------------------------------

    def _prepare(self, pod: dict, now: float) -> PodContext:
        agent = self.agent
        uid = pod["metadata"]["uid"]
        try:
            sandbox, pod_ip = agent.ensure_sandbox(pod)
        except Exception as exc:
            agent.record(pod, "Warning", "FailedCreatePodSandBox", str(exc))
            raise PodSetupError(f"pod {uid}: sandbox: {exc}") from exc
        host_ip = agent.node_ip
        paths = agent.volume_paths(uid)
        if paths is None or now - self._volumes_at.get(uid, 0) >= agent.config.sync_frequency:
            try:
                paths = agent.volumes.setup(pod, pod_ip, host_ip)
            except (VolumeError, OSError) as exc:
                agent.record(pod, "Warning", "FailedMount", str(exc))
                raise PodSetupError(f"pod {uid}: volumes: {exc}") from exc
            agent.set_volume_paths(uid, paths)
            self._volumes_at[uid] = now
        pod_dir = agent.pod_dir(uid)
        etc_files = podfiles.write_pod_files(pod_dir, pod, pod_ip, agent.cluster_dns(),
                                             agent.config.cluster_domain)
        return PodContext(pod=pod, pod_dir=pod_dir, logs_dir=agent.config.logs_dir,
                          namespaces={k: sandbox.ns_path(k) for k in ("net", "ipc", "uts")},
                          volume_paths=paths, etc_files=etc_files,
                          shm_path=agent.ensure_shm(uid), pod_ip=pod_ip, host_ip=host_ip,
                          netns=sandbox.ns_path("net"))

    # --- 6. containers ---------------------------------------------------------------------

    def _kill(self, pod: dict, kills, grace: float) -> None:
        agent = self.agent
        uid = pod["metadata"]["uid"]
        specs = {c["name"]: c for c in _all_containers(pod)}
        for kill in kills:
            info = agent.index.info(kill.id)
            if info is None:
                continue
            if info.status == "created" or kill.reason == "never started":
                teardown.container(agent, kill.id)  # never ran: nothing to stop gracefully
                continue
            container = specs.get(kill.name)
            first = agent.terminator.deadline_of(kill.id) is None
            probe_grace = ((container or {}).get("livenessProbe") or {}).get(
                "terminationGracePeriodSeconds")
            this_grace = float(probe_grace) if kill.reason == "liveness probe failed" and \
                probe_grace is not None else grace
            agent.terminator.stop(uid, info, container, this_grace, pod_ip=agent.pod_ip(uid),
                                  pod_netns=agent.netns_of(uid))
            if first:
                message = f"Stopping container {kill.name}"
                if kill.reason == "liveness probe failed":
                    message = f"Container {kill.name} failed liveness probe, will be restarted"
                agent.record(pod, "Normal", "Killing", message, kill.name)

    def _remove(self, uid: str, ids: list[str]) -> None:
        for container_id in ids:
            teardown.container(self.agent, container_id)

    def _register_probes(self, pod: dict, observed: PodObserved, ctx: PodContext) -> None:
        agent = self.agent
        uid = pod["metadata"]["uid"]
        for container in pod["spec"].get("containers", []):
            if not any(container.get(k) for k in ("livenessProbe", "readinessProbe",
                                                   "startupProbe")):
                continue
            latest = observed.latest(container["name"])
            if latest is not None and latest.state not in (CREATED, "exited"):
                agent.probes.add(uid, container, latest.id, ctx.pod_ip, ctx.netns)

    def _report_failure(self, pod: dict, name: str, init: bool, exc: StartError) -> None:
        key = (pod["metadata"]["uid"], name)
        if self._failures.get(key) == exc.reason + exc.message:
            return
        self._failures[key] = exc.reason + exc.message
        reason = {"ErrImagePull": "Failed", "ImagePullBackOff": "BackOff",
                  "ErrImageNeverPull": "ErrImageNeverPull"}.get(exc.reason, "Failed")
        self.agent.record(pod, "Warning", reason, exc.message, name, init)

    def _report_backoff(self, pod: dict, name: str, waiting: Waiting) -> None:
        key = (pod["metadata"]["uid"], name)
        if self._failures.get(key) == waiting.message:
            return
        self._failures[key] = waiting.message
        self.agent.record(pod, "Warning", "BackOff",
                          f"Back-off restarting failed container {name} in pod "
                          f"{pod['metadata']['name']}", name)

    # --- 7. status -------------------------------------------------------------------------

    def _write_status(self, pod: dict, observed: PodObserved, actions, now: float,
                      failures: dict[str, Waiting], start_time: float,
                      pod_ip: str | None) -> None:
        agent = self.agent
        uid = pod["metadata"]["uid"]
        states = agent.probes.states(uid)
        status = compute_pod_status(pod, observed, actions, now, failures,
                                    readiness=states[READINESS], startup=states[STARTUP],
                                    pod_ip=pod_ip, host_ip=agent.node_ip,
                                    start_time=start_time, scheme=agent.runtime.scheme)
        status["qosClass"] = qos_class(pod)
        wanted = _normal(status)
        if self._written.get(uid) == wanted:
            return
        if self._written.get(uid) is None and _normal(pod.get("status") or {}) == wanted:
            self._written[uid] = wanted
            return
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": pod["metadata"],
                "spec": pod["spec"], "status": status}
        try:
            agent.pods_api.replace(body, pod["metadata"]["namespace"], subresource="status")
        except Conflict:
            fresh = agent.pods_api.get(pod["metadata"]["name"], pod["metadata"]["namespace"])
            if fresh["metadata"]["uid"] != uid:
                return
            body["metadata"] = fresh["metadata"]
            body["spec"] = fresh["spec"]
            agent.pods_api.replace(body, pod["metadata"]["namespace"], subresource="status")
        except NotFound:
            return
        self._written[uid] = wanted
        if status["phase"] == "Running" and uid not in self._started:
            self._started.add(uid)
            created = parse_time(pod["metadata"].get("creationTimestamp"))
            if created is not None:
                agent.metrics.pod_start.observe(max(time.time() - created, 0.0))


def _grace(pod: dict) -> float:
    value = pod.get("spec", {}).get("terminationGracePeriodSeconds")
    return 30.0 if value is None else float(value)


def _all_containers(pod: dict | None) -> list[dict]:
    spec = (pod or {}).get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if v is not None and v != {}}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _normal(status: dict) -> str:
    """A status in a form where "equal" means "nothing to write"."""
    return json.dumps(_strip(status), sort_keys=True, separators=(",", ":"))

