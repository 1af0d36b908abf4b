"""The Deployment controller: handlers, the sync entry point, and the writes it makes.

    sync(namespace/name):
      read the Deployment; claim its ReplicaSets (adopt and release by selector)
      being deleted               -> status only
      paused, or a scaling event  -> scale the ReplicaSets proportionally, status
      strategy Recreate           -> rollout.recreate
      strategy RollingUpdate      -> rollout.rolling

Each rollout step makes at most one kind of move (scale up the new ReplicaSet, or
scale down old ones), writes the Deployment's status last, and lets the resulting
ReplicaSet events bring it back: the rollout advances one observed step at a time.

Watches Deployments, ReplicaSets and Pods. A ReplicaSet event wakes the Deployment
that controls it (an orphan ReplicaSet: every Deployment whose selector matches
it); a pod deletion wakes a Recreate Deployment waiting for its old pods to go.
"""

from __future__ import annotations

import copy
import logging

from supernetes.controlplane.client import NotFound, object_key

from .. import podutil
from ..base import Controller, handlers
from ..claims import ControllerRefManager, recheck_owner
from . import progress, rollout, sync, util

log = logging.getLogger(__name__)


class DeploymentController(Controller):
    name = "deployment"
    component = "deployment-controller"

    def setup(self) -> None:
        self.deployments = self.informer("apps/v1", "Deployment")
        self.sets = self.informer("apps/v1", "ReplicaSet")
        self.pods = self.informer("v1", "Pod")
        self.deployments.add_handler(**handlers(self.enqueue))
        self.sets.add_handler(self._set_added, self._set_updated, self._set_deleted)
        self.pods.add_handler(on_delete=self._pod_deleted)
        self.deployment_resource = self.resource("apps/v1", "Deployment")
        self.set_resource = self.resource("apps/v1", "ReplicaSet")

    # -- handlers --------------------------------------------------------------------------

    def _owner_of(self, rs: dict) -> dict | None:
        ref = podutil.controller_ref(rs)
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.cache.get_by_name(ref.get("name", ""),
                                               podutil.meta(rs).get("namespace"))
        return d if d is not None and podutil.uid(d) == ref.get("uid") else None

    def _matching(self, rs: dict) -> list[dict]:
        namespace = podutil.meta(rs).get("namespace") or ""
        return [d for d in self.deployments.cache.by_index("namespace", namespace)
                if podutil.selects(util.spec(d).get("selector"), rs)]

    def _set_added(self, rs: dict) -> None:
        if podutil.terminating(rs):
            self._set_deleted(rs)
            return
        owner = self._owner_of(rs)
        if owner is not None:
            self.enqueue(owner)
        elif podutil.controller_ref(rs) is None:
            for d in self._matching(rs):
                self.enqueue(d)

    def _set_updated(self, old: dict, new: dict) -> None:
        if podutil.meta(old).get("resourceVersion") == podutil.meta(new).get("resourceVersion"):
            return
        old_ref, new_ref = podutil.controller_ref(old), podutil.controller_ref(new)
        if old_ref and old_ref != new_ref:
            owner = self._owner_of(old)
            if owner is not None:
                self.enqueue(owner)
        owner = self._owner_of(new)
        if owner is not None:
            self.enqueue(owner)
        elif new_ref is None and (podutil.labels(old) != podutil.labels(new)
                                  or old_ref != new_ref):
            for d in self._matching(new):
                self.enqueue(d)

    def _set_deleted(self, rs: dict) -> None:
        owner = self._owner_of(rs)
        if owner is not None:
            self.enqueue(owner)

    def _pod_deleted(self, pod: dict) -> None:
        ref = podutil.controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.sets.cache.get_by_name(ref.get("name", ""), podutil.meta(pod).get("namespace"))
        d = self._owner_of(rs) if rs is not None else None
        if d is not None and not util.is_rolling(d):
            self.enqueue(d)             # Recreate waits for every old pod to be gone

    # -- sync ------------------------------------------------------------------------------

    def sync(self, key: str) -> None:
        cached = self.deployments.cache.get(key)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        selector = util.spec(d).get("selector")
        if not selector or (not selector.get("matchLabels") and
                            not selector.get("matchExpressions")):
            self.event(d, "Warning", "SelectingAll",
                       "This deployment is selecting all pods. A non-empty selector is "
                       "required.")
            if (d.get("status") or {}).get("observedGeneration") != \
                    podutil.meta(d).get("generation"):
                d.setdefault("status", {})["observedGeneration"] = podutil.meta(d).get(
                    "generation")
                self.update_status(d)
            return
        sets = self.claim_replica_sets(d)
        if podutil.terminating(d):
            sync.sync_status_only(self, d, sets)
            return
        progress.check_paused_conditions(self, d)
        if util.spec(d).get("paused") or sync.is_scaling_event(self, d, sets):
            sync.scale_and_status(self, d, sets)
            return
        if util.is_rolling(d):
            rollout.rolling(self, d, sets)
        else:
            rollout.recreate(self, d, sets, self.pods_by_replica_set(d, sets))

    def claim_replica_sets(self, d: dict) -> list[dict]:
        namespace = podutil.meta(d).get("namespace") or ""
        selector = util.spec(d).get("selector")
        manager = ControllerRefManager(
            self.set_resource, d, lambda rs: podutil.selects(selector, rs),
            recheck_owner(self.deployment_resource, d))
        claimed = manager.claim(list(self.sets.cache.by_index("namespace", namespace)))
        return [copy.deepcopy(rs) for rs in claimed]

    def pods_by_replica_set(self, d: dict, sets: list[dict]) -> dict[str, list[dict]]:
        """Pods matching the Deployment, grouped by the uid of the ReplicaSet owning them."""
        namespace = podutil.meta(d).get("namespace") or ""
        selector = util.spec(d).get("selector")
        uids = {podutil.uid(rs) for rs in sets}
        grouped: dict[str, list[dict]] = {uid: [] for uid in uids}
        for pod in self.pods.cache.by_index("namespace", namespace):
            ref = podutil.controller_ref(pod)
            if ref is not None and ref.get("uid") in uids and podutil.selects(selector, pod):
                grouped[ref["uid"]].append(pod)
        return grouped

    # -- writes -------------------------------------------------------------------------------

    def update_replica_set(self, rs: dict) -> dict:
        updated = self.set_resource.replace(rs)
        updated.setdefault("apiVersion", "apps/v1")
        updated.setdefault("kind", "ReplicaSet")
        return updated

    def create_replica_set(self, rs: dict) -> dict:
        created = self.set_resource.create(rs)
        created.setdefault("apiVersion", "apps/v1")
        created.setdefault("kind", "ReplicaSet")
        return created

    def delete_replica_set(self, rs: dict) -> None:
        meta = podutil.meta(rs)
        self.set_resource.delete(meta["name"], meta.get("namespace"),
                                 preconditions={"uid": meta.get("uid"),
                                                "resourceVersion": meta.get("resourceVersion")})

    def set_revision(self, d: dict, value: str) -> None:
        """The Deployment's own revision annotation (metadata: not part of status)."""
        annotations = podutil.meta(d).get("annotations") or {}
        if annotations.get(util.REVISION) == value:
            return
        meta = podutil.meta(d)
        patched = self.deployment_resource.patch(
            meta["name"], {"metadata": {"annotations": {util.REVISION: value}}},
            meta.get("namespace"), patch_type="merge")
        d["metadata"]["annotations"] = patched["metadata"].get("annotations") or {}
        d["metadata"]["resourceVersion"] = patched["metadata"]["resourceVersion"]

    def update_status(self, d: dict) -> None:
        cached = self.deployments.cache.get(object_key(d))
        if cached is not None and (cached.get("status") or {}) == (d.get("status") or {}):
            return
        try:
            updated = self.client.replace_status(d)
        except NotFound:
            return                      # deleted meanwhile
        d["metadata"]["resourceVersion"] = updated["metadata"]["resourceVersion"]
