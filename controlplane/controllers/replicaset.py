"""The ReplicaSet controller: keep `spec.replicas` pods matching the selector.

    sync(namespace/name):
      1. read the ReplicaSet and the active pods of its namespace from the caches
      2. claim pods: adopt matching orphans, release owned pods that stopped matching
      3. if no creation or deletion of ours is still unseen (expectations) and the
         ReplicaSet is not being deleted: create the missing pods (slow-start
         batches) or delete the surplus, least valuable first (`podutil`)
      4. write status last: replicas, fullyLabeledReplicas, readyReplicas,
         availableReplicas (ready for minReadySeconds), observedGeneration, and a
         ReplicaFailure condition while creations or deletions fail

`status.replicas` counts the pods that exist and are not terminating *after* this
sync's deletions went through, so it never counts a pod the sync has just deleted.
The Deployment controller relies on that to keep a rolling update within maxSurge.

Watches ReplicaSets and Pods (shared informers); a pod event wakes the ReplicaSet
that controls it, or, for an orphan, every ReplicaSet whose selector matches it.
"""

from __future__ import annotations

import copy
import logging

from supernetes.controlplane.client import NotFound, object_key

from . import podutil
from .base import Controller, handlers
from .claims import ControllerRefManager, recheck_owner
from .errors import SyncError
from .expectations import Expectations
from .podcontrol import PodControl, parallel, pod_from_template, slow_start_batch

log = logging.getLogger(__name__)

CONTROLLER_INDEX = "controller"


def controller_index(obj: dict) -> list[str]:
    ref = podutil.controller_ref(obj)
    return [ref["uid"]] if ref and ref.get("uid") else []


class ReplicaSetController(Controller):
    name = "replicaset"
    component = "replicaset-controller"
    kind, api_version = "ReplicaSet", "apps/v1"

    def setup(self) -> None:
        self.expectations = Expectations()
        self.pod_control = PodControl(self.client, self.event)
        self.sets = self.informer(self.api_version, self.kind)
        self.pods = self.informer("v1", "Pod", indexers={CONTROLLER_INDEX: controller_index})
        self.sets.add_handler(**handlers(self.enqueue, on_delete=self._set_deleted))
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.set_resource = self.resource(self.api_version, self.kind)

    # -- handlers: compute keys, nothing else ------------------------------------------

    def _set_deleted(self, rs: dict) -> None:
        self.expectations.delete(object_key(rs))
        self.enqueue(rs)

    def _owner_of(self, pod: dict) -> dict | None:
        ref = podutil.controller_ref(pod)
        if ref is None or ref.get("kind") != self.kind:
            return None
        rs = self.sets.cache.get_by_name(ref.get("name", ""), podutil.meta(pod).get("namespace"))
        return rs if rs is not None and podutil.uid(rs) == ref.get("uid") else None

    def _matching_sets(self, pod: dict) -> list[dict]:
        namespace = podutil.meta(pod).get("namespace") or ""
        return [rs for rs in self.sets.cache.by_index("namespace", namespace)
                if podutil.selects((rs.get("spec") or {}).get("selector"), pod)]

    def _pod_added(self, pod: dict) -> None:
        if podutil.terminating(pod):
            self._pod_deleted(pod)       # seen for the first time already on its way out
            return
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.creation_observed(object_key(owner))
            self.enqueue(owner)
        elif podutil.controller_ref(pod) is None:
            for rs in self._matching_sets(pod):
                self.enqueue(rs)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if podutil.meta(old).get("resourceVersion") == podutil.meta(new).get("resourceVersion"):
            return                       # a resync: pods of interest get their own events
        labels_changed = podutil.labels(old) != podutil.labels(new)
        if podutil.terminating(new):
            self._pod_deleted(new)
            if labels_changed:
                self._pod_deleted(old)
            return
        old_ref, new_ref = podutil.controller_ref(old), podutil.controller_ref(new)
        if old_ref and old_ref != new_ref:
            owner = self._owner_of(old)
            if owner is not None:
                self.enqueue(owner)
        owner = self._owner_of(new)
        if owner is not None:
            self.enqueue(owner)
            min_ready = (owner.get("spec") or {}).get("minReadySeconds") or 0
            if min_ready and not podutil.is_ready(old) and podutil.is_ready(new):
                # Available only later: look again when minReadySeconds have passed.
                self.enqueue_after(owner, min_ready + 1)
            return
        if new_ref is None and (labels_changed or old_ref != new_ref):
            for rs in self._matching_sets(new):
                self.enqueue(rs)

    def _pod_deleted(self, pod: dict) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.deletion_observed(object_key(owner), podutil.uid(pod))
            self.enqueue(owner)

    # -- sync ---------------------------------------------------------------------------

    def sync(self, key: str) -> None:
        rs = self.sets.cache.get(key)
        if rs is None:
            self.expectations.delete(key)
            return
        spec = rs.get("spec") or {}
        needs_sync = self.expectations.satisfied(key)
        pods = self.claim_pods(rs)
        error: Exception | None = None
        deleted: set[str] = set()
        if needs_sync and not podutil.terminating(rs):
            try:
                deleted = self.manage_replicas(key, rs, pods)
            except Exception as exc:     # status first, then the retry
                error = exc
        live = [p for p in pods if podutil.uid(p) not in deleted]
        status = self.calculate_status(rs, live, error, len(pods) - (spec.get("replicas") or 0))
        self.write_status(rs, status)
        if error is not None:
            raise error
        min_ready = spec.get("minReadySeconds") or 0
        if min_ready and status["readyReplicas"] == status["replicas"] and \
                status["availableReplicas"] != status["replicas"]:
            self.enqueue_after(key, min_ready)

    def claim_pods(self, rs: dict) -> list[dict]:
        namespace = podutil.meta(rs).get("namespace") or ""
        candidates = [p for p in self.pods.cache.by_index("namespace", namespace)
                      if podutil.is_active(p)]
        selector = (rs.get("spec") or {}).get("selector")
        manager = ControllerRefManager(
            self.pods.resource, rs, lambda pod: podutil.selects(selector, pod),
            recheck_owner(self.set_resource, rs))
        return manager.claim(candidates)

    def related_pods(self, rs: dict) -> list[dict]:
        """Active pods of every ReplicaSet with the same controller (the Deployment's)."""
        owner = podutil.controller_ref(rs)
        if owner is None:
            return []
        namespace = podutil.meta(rs).get("namespace") or ""
        siblings = [s for s in self.sets.cache.by_index("namespace", namespace)
                    if (podutil.controller_ref(s) or {}).get("uid") == owner.get("uid")]
        related = []
        for sibling in siblings:
            related.extend(p for p in self.pods.cache.by_index(CONTROLLER_INDEX,
                                                               podutil.uid(sibling))
                           if podutil.is_active(p))
        return related

    def manage_replicas(self, key: str, rs: dict, pods: list[dict]) -> set[str]:
        """Create or delete pods towards spec.replicas; returns the uids deleted."""
        wanted = (rs.get("spec") or {}).get("replicas")
        wanted = 1 if wanted is None else wanted
        diff = len(pods) - wanted
        burst = self.config.burst_replicas
        if diff < 0:
            count = min(-diff, burst)
            self.expectations.expect_creations(key, count)
            template = (rs.get("spec") or {}).get("template") or {}

            def create(_index: int) -> None:
                if self.pod_control.create(pod_from_template(template, rs), rs) is None:
                    self.expectations.creation_observed(key)    # namespace terminating

            created, error = slow_start_batch(count, create)
            if created < count:
                # No watch event will come for what was never created.
                self.expectations.creation_observed(key, count - created)
            if error is not None:
                raise SyncError(f"created {created} of {count} pods for {key}: {error}") \
                    from error
            return set()
        if diff > 0:
            count = min(diff, burst)
            victims = podutil.scale_down_order(pods, self.related_pods(rs))[:count]
            self.expectations.expect_deletions(key, [podutil.uid(p) for p in victims])
            deleted: set[str] = set()

            def delete(pod: dict) -> None:
                if not self.pod_control.delete(pod, rs):
                    self.expectations.deletion_observed(key, podutil.uid(pod))
                deleted.add(podutil.uid(pod))

            errors = parallel(victims, delete)
            for pod in victims:
                if podutil.uid(pod) not in deleted:
                    self.expectations.deletion_observed(key, podutil.uid(pod))
            if errors:
                raise SyncError(f"deleted {len(deleted)} of {count} pods for {key}: "
                                f"{errors[0]}") from errors[0]
            return deleted
        return set()

    def calculate_status(self, rs: dict, pods: list[dict], error: Exception | None,
                         diff: int) -> dict:
        spec = rs.get("spec") or {}
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") \
            or {}
        min_ready = spec.get("minReadySeconds") or 0
        now = podutil.now()
        status = copy.deepcopy(rs.get("status") or {})
        status.update(
            replicas=len(pods),
            fullyLabeledReplicas=sum(1 for p in pods if template_labels.items() <=
                                     podutil.labels(p).items()),
            readyReplicas=sum(1 for p in pods if podutil.is_ready(p)),
            availableReplicas=sum(1 for p in pods if podutil.is_available(p, min_ready, now)),
            observedGeneration=podutil.meta(rs).get("generation", 0))
        failure = podutil.get_condition(status, "ReplicaFailure")
        if error is not None and failure is None:
            reason = "FailedCreate" if diff < 0 else "FailedDelete"
            podutil.set_condition(status, podutil.condition("ReplicaFailure", "True", reason,
                                                            str(error)))
        elif error is None and failure is not None:
            podutil.remove_condition(status, "ReplicaFailure")
        return status

    def write_status(self, rs: dict, status: dict) -> None:
        if status == (rs.get("status") or {}):
            return
        updated = copy.deepcopy(rs)
        updated["status"] = status
        try:
            self.client.replace_status(updated)
        except NotFound:
            pass                        # deleted meanwhile: nothing to report on
