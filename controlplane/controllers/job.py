"""The Job controller: run pods until enough of them succeed, or give up.

    sync(namespace/name):
      1. claim the Job's pods (selector, controller reference)
      2. count pods that finished (jobutil: uncountedTerminatedPods, finalizer
         removal, counters), remembering failures for the back-off
      3. decide: Failed when failures exceed backoffLimit (BackoffLimitExceeded) or
         activeDeadlineSeconds passed (DeadlineExceeded); Complete when enough pods
         succeeded (completions, or any one for a work-queue Job with none); else keep
         min(parallelism, remaining completions) pods active - for an Indexed Job, one
         pod per index not yet done - waiting base * 2^(failures-1) after failures
         before replacing a failed pod (capped, as Kubernetes' 10 s .. 6 min)
      4. write status last: active, ready, terminating, succeeded, failed,
         startTime, completionTime, completedIndexes, conditions

A finished or suspended Job keeps no active pod. A Job being deleted, or pods whose
Job is gone, only get their tracking finalizers removed, so they can go.
"""

from __future__ import annotations

import copy
import logging
import threading
import time

from supernetes.controlplane.api.meta import format_time, parse_time
from supernetes.controlplane.client import NotFound, object_key

from . import jobutil, podutil
from .backoff import KeyedBackoff
from .base import Controller, handlers
from .claims import ControllerRefManager, recheck_owner
from .errors import SyncError
from .expectations import Expectations
from .podcontrol import PodControl, parallel, pod_from_template, slow_start_batch

log = logging.getLogger(__name__)

ORPHAN_PREFIX = "pod:"


class JobController(Controller):
    name = "job"
    component = "job-controller"

    def setup(self) -> None:
        self.expectations = Expectations()
        self.backoff = KeyedBackoff(self.config.job_backoff_base, self.config.job_backoff_max)
        self.pod_control = PodControl(self.client, self.event)
        self.jobs = self.informer("batch/v1", "Job")
        self.pods = self.informer("v1", "Pod")
        self.jobs.add_handler(**handlers(self.enqueue, on_delete=self._job_deleted))
        self.pods.add_handler(self._pod_added, lambda old, new: self._pod_changed(new),
                              self._pod_deleted)
        self.job_resource = self.resource("batch/v1", "Job")
        # Pods whose tracking finalizer we removed and whose update the cache has not
        # shown yet: still "tracked" in a stale cache, but counted already.
        self._released: set[str] = set()
        self._released_lock = threading.Lock()

    # -- handlers --------------------------------------------------------------------------

    def _job_deleted(self, job: dict) -> None:
        self.expectations.delete(object_key(job))
        self.backoff.forget(object_key(job))
        self.enqueue(job)

    def _owner_of(self, pod: dict) -> dict | None:
        ref = podutil.controller_ref(pod)
        if ref is None or ref.get("kind") != "Job":
            return None
        job = self.jobs.cache.get_by_name(ref.get("name", ""), podutil.meta(pod).get("namespace"))
        return job if job is not None and podutil.uid(job) == ref.get("uid") else None

    def _pod_changed(self, pod: dict) -> None:
        if not jobutil.tracked(pod):
            with self._released_lock:
                self._released.discard(podutil.uid(pod))
        job = self._owner_of(pod)
        if job is not None:
            if podutil.terminating(pod):    # a deletion we asked for counts once it starts
                self.expectations.deletion_observed(object_key(job), podutil.uid(pod))
            self.enqueue(job)
        elif jobutil.tracked(pod):
            self.queue.add(ORPHAN_PREFIX + object_key(pod))

    def _pod_deleted(self, pod: dict) -> None:
        with self._released_lock:
            self._released.discard(podutil.uid(pod))
        job = self._owner_of(pod)
        if job is not None:
            self.expectations.deletion_observed(object_key(job), podutil.uid(pod))
            self.enqueue(job)

    def _pod_added(self, pod: dict) -> None:
        job = self._owner_of(pod)
        if job is not None:
            self.expectations.creation_observed(object_key(job))
        self._pod_changed(pod)

    # -- sync -----------------------------------------------------------------------------------

    def sync(self, key: str) -> None:
        if key.startswith(ORPHAN_PREFIX):
            self._release_orphan(key[len(ORPHAN_PREFIX):])
            return
        cached = self.jobs.cache.get(key)
        if cached is None:
            self.expectations.delete(key)
            return
        job = copy.deepcopy(cached)
        pods = self._claim(job)
        if podutil.terminating(job) or jobutil.finished_condition(job) is not None:
            self._count(key, job, pods)
            self._remove_finalizers([p for p in pods if jobutil.tracked(p)])
            self._write_status(job)
            return
        spec, status = job.get("spec") or {}, job.setdefault("status", {})
        now = podutil.now()
        if not status.get("startTime") and not spec.get("suspend"):
            status["startTime"] = format_time(now)
        self._count(key, job, pods)
        active = [p for p in pods if podutil.is_active(p)]
        failure = self._failure(job, active, now)
        error: Exception | None = None
        if failure is not None:
            self._delete_pods(key, job, active)
            active = []
            podutil.set_condition(status, podutil.condition("Failed", "True", *failure, now))
            self.event(job, "Warning", failure[0], failure[1])
        elif self.expectations.satisfied(key):
            try:
                active = self._manage(key, job, pods, active)
            except Exception as exc:     # status first, then the retry
                error = exc
        self._set_counts(job, pods, active)
        if failure is None and self._complete(job, active):
            status["completionTime"] = format_time(now)
            podutil.set_condition(status, podutil.condition(
                "Complete", "True", "CompletionsReached",
                "Reached expected number of succeeded pods", now))
            self.event(job, "Normal", "Completed", "Job completed")
        self._write_status(job)
        if error is not None:
            raise error
        deadline = spec.get("activeDeadlineSeconds")
        if deadline and failure is None and status.get("startTime"):
            started = parse_time(status["startTime"])
            self.enqueue_after(key, max(started.timestamp() + deadline - time.time(), 0) + 0.5)

    def _claim(self, job: dict) -> list[dict]:
        namespace = podutil.meta(job).get("namespace") or ""
        selector = (job.get("spec") or {}).get("selector")
        manager = ControllerRefManager(
            self.pods.resource, job, lambda pod: podutil.selects(selector, pod),
            recheck_owner(self.job_resource, job))
        return manager.claim(list(self.pods.cache.by_index("namespace", namespace)))

    # -- counting finished pods -------------------------------------------------------------

    def _count(self, key: str, job: dict, pods: list[dict]) -> None:
        status = job.setdefault("status", {})
        uncounted = status.setdefault("uncountedTerminatedPods", {})
        known = {kind: set(uncounted.get(kind) or ()) for kind in ("succeeded", "failed")}
        fresh = {"succeeded": 0, "failed": 0}
        with self._released_lock:
            released = set(self._released)
        for pod in pods:
            outcome = jobutil.outcome(pod)
            if outcome is None or not jobutil.tracked(pod) or podutil.uid(pod) in known[outcome] \
                    or podutil.uid(pod) in released:
                continue
            uncounted.setdefault(outcome, []).append(podutil.uid(pod))
            fresh[outcome] += 1
        if fresh["succeeded"]:
            self.backoff.succeeded(key)
        self.backoff.failed(key, fresh["failed"])
        if fresh["succeeded"] or fresh["failed"]:
            self._write_status(job)                           # step 1
        by_uid = {podutil.uid(p): p for p in pods}
        self._remove_finalizers([by_uid[u] for kind in ("succeeded", "failed")
                                 for u in uncounted.get(kind) or ()
                                 if u in by_uid and jobutil.tracked(by_uid[u])])   # step 2
        indexes = jobutil.parse_indexes(status.get("completedIndexes"))
        for kind in ("succeeded", "failed"):                  # step 3 (written by the caller)
            for uid in uncounted.get(kind) or ():
                status[kind] = (status.get(kind) or 0) + 1
                pod = by_uid.get(uid)
                index = jobutil.completion_index(pod) if pod is not None else None
                if kind == "succeeded" and index is not None:
                    indexes.add(index)
            uncounted[kind] = []
        if indexes:
            status["completedIndexes"] = jobutil.format_indexes(indexes)
        status["uncountedTerminatedPods"] = {}

    def _remove_finalizers(self, pods: list[dict]) -> None:
        def remove(pod: dict) -> None:
            meta = podutil.meta(pod)
            kept = [f for f in meta.get("finalizers") or () if f != jobutil.TRACKING_FINALIZER]
            try:
                self.pods.resource.patch(meta["name"], {"metadata": {
                    "finalizers": kept, "resourceVersion": meta.get("resourceVersion")}},
                    meta.get("namespace"), patch_type="merge")
            except NotFound:
                return
            with self._released_lock:
                self._released.add(meta.get("uid"))
        errors = parallel(pods, remove)
        if errors:
            raise SyncError(f"removing job-tracking finalizers: {errors[0]}") from errors[0]

    def _release_orphan(self, pod_key: str) -> None:
        """A tracked pod whose Job is gone: nothing will count it, let it go."""
        pod = self.pods.cache.get(pod_key)
        if pod is None or not jobutil.tracked(pod):
            return
        ref = podutil.controller_ref(pod)
        if ref is not None:
            try:
                job = self.job_resource.get(ref.get("name", ""), podutil.meta(pod)["namespace"])
                if podutil.uid(job) == ref.get("uid") and not podutil.terminating(job):
                    return              # the Job exists: it counts the pod itself
            except NotFound:
                pass
        self._remove_finalizers([pod])

    # -- deciding -------------------------------------------------------------------------------

    def _failure(self, job: dict, active: list[dict], now) -> tuple[str, str] | None:
        spec, status = job.get("spec") or {}, job.get("status") or {}
        limit = spec.get("backoffLimit", 6)
        restarts = jobutil.restarts_on_failure(job, active)
        if (status.get("failed") or 0) > limit or \
                (restarts > 0 if limit == 0 else restarts >= limit):
            return "BackoffLimitExceeded", "Job has reached the specified backoff limit"
        deadline = spec.get("activeDeadlineSeconds")
        started = parse_time(status.get("startTime"))
        if deadline and started and started.timestamp() + deadline <= now.timestamp():
            return "DeadlineExceeded", "Job was active longer than specified deadline"
        return None

    def _complete(self, job: dict, active: list[dict]) -> bool:
        spec, status = job.get("spec") or {}, job.get("status") or {}
        completions = spec.get("completions")
        if active:
            return False
        if spec.get("completionMode") == "Indexed" and completions is not None:
            return len(jobutil.parse_indexes(status.get("completedIndexes"))) >= completions
        if completions is None:
            return (status.get("succeeded") or 0) > 0
        return (status.get("succeeded") or 0) >= completions

    def _manage(self, key: str, job: dict, pods: list[dict], active: list[dict]) -> list[dict]:
        """Create or delete pods towards the wanted number; returns the active pods."""
        spec, status = job.get("spec") or {}, job.get("status") or {}
        if spec.get("suspend"):
            self._delete_pods(key, job, active)
            return []
        parallelism = spec.get("parallelism", 1)
        completions = spec.get("completions")
        indexed = spec.get("completionMode") == "Indexed" and completions is not None
        succeeded = len(jobutil.parse_indexes(status.get("completedIndexes"))) if indexed \
            else status.get("succeeded") or 0
        if completions is None:
            want = len(active) if succeeded > 0 else parallelism
        else:
            want = max(min(completions - succeeded, parallelism), 0)
        surplus = len(active) - want
        if surplus > 0:
            victims = podutil.scale_down_order(active)[:surplus]
            self._delete_pods(key, job, victims)
            return [p for p in active if p not in victims]
        if surplus == 0:
            return active
        wait = self.backoff.remaining(key)
        if wait > 0:
            self.enqueue_after(key, wait)
            return active
        indexes = self._pending_indexes(job, pods, active) if indexed else []
        count = min(want - len(active), self.config.burst_replicas)
        if indexed:
            count = min(count, len(indexes))
        self.expectations.expect_creations(key, count)

        def create(i: int) -> None:
            pod = self._new_pod(job, indexes[i] if indexed else None)
            if self.pod_control.create(pod, job) is None:
                self.expectations.creation_observed(key)    # namespace terminating

        created, error = slow_start_batch(count, create)
        if created < count:
            self.expectations.creation_observed(key, count - created)
        if error is not None:
            raise SyncError(f"created {created} of {count} pods for job {key}: {error}") \
                from error
        return active

    def _pending_indexes(self, job: dict, pods: list[dict], active: list[dict]) -> list[int]:
        completions = (job.get("spec") or {}).get("completions") or 0
        done = jobutil.parse_indexes((job.get("status") or {}).get("completedIndexes"))
        busy = {jobutil.completion_index(p) for p in active}
        return [i for i in range(completions) if i not in done and i not in busy]

    def _new_pod(self, job: dict, index: int | None) -> dict:
        template = (job.get("spec") or {}).get("template") or {}
        pod = pod_from_template(template, job)
        meta = pod["metadata"]
        meta["finalizers"] = [*meta.get("finalizers", []), jobutil.TRACKING_FINALIZER]
        if index is not None:
            name = podutil.meta(job)["name"]
            meta["generateName"] = f"{name}-{index}-"
            meta.setdefault("annotations", {})[jobutil.COMPLETION_INDEX] = str(index)
            meta["labels"][jobutil.COMPLETION_INDEX] = str(index)
            pod["spec"]["hostname"] = f"{name}-{index}"
            env = {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                "fieldPath": f"metadata.annotations['{jobutil.COMPLETION_INDEX}']"}}}
            for container in pod["spec"].get("containers") or ():
                container["env"] = [env, *(container.get("env") or [])]
        return pod

    def _delete_pods(self, key: str, job: dict, victims: list[dict]) -> None:
        if not victims:
            return
        self.expectations.expect_deletions(key, [podutil.uid(p) for p in victims])

        def delete(pod: dict) -> None:
            if not self.pod_control.delete(pod, job):
                self.expectations.deletion_observed(key, podutil.uid(pod))
        errors = parallel(victims, delete)
        if errors:
            raise SyncError(f"deleting pods of job {key}: {errors[0]}") from errors[0]

    # -- status -----------------------------------------------------------------------------------

    def _set_counts(self, job: dict, pods: list[dict], active: list[dict]) -> None:
        status = job["status"]
        status["active"] = len(active)
        status["ready"] = sum(1 for p in active if podutil.is_ready(p))
        status["terminating"] = sum(1 for p in pods if podutil.terminating(p)
                                    and not podutil.is_terminal(p))
        status.setdefault("succeeded", 0)
        status.setdefault("failed", 0)

    def _write_status(self, job: dict) -> None:
        cached = self.jobs.cache.get(object_key(job))
        if cached is not None and (cached.get("status") or {}) == job["status"]:
            return
        try:
            updated = self.client.replace_status(job)
        except NotFound:
            return                      # deleted meanwhile
        job["metadata"]["resourceVersion"] = updated["metadata"]["resourceVersion"]
