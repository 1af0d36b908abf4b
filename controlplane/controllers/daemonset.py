"""The DaemonSet controller: one pod on every eligible node.

    sync(namespace/name):
      1. claim the DaemonSet's pods and group them by node (spec.nodeName, or the
         node their affinity pins them to while they wait for the scheduler)
      2. per node (daemonsetutil.should_run): no pod where one should run -> create;
         pods where none may stay -> delete; several -> keep the oldest (the oldest
         old and the oldest new while surging); a failed pod -> delete it, after a
         back-off per node, and let the next sync replace it
      3. pods pinned to nodes that no longer exist -> delete
      4. RollingUpdate: replace old pods within maxUnavailable / maxSurge
         (daemonsetutil.rolling_plan); OnDelete: leave them until deleted by hand
      5. status last: desiredNumberScheduled, currentNumberScheduled,
         numberMisscheduled, numberReady, updatedNumberScheduled, numberAvailable,
         numberUnavailable, observedGeneration

Binding, as Kubernetes since 1.12: a daemon pod is created with a required node
affinity for exactly its node (`matchFields metadata.name In [node]`), and the
scheduler binds it, so resources, ports and the scheduler's view of the node stay
right. Pods are labelled `controller-revision-hash` with the template hash; there
is no ControllerRevision object (the API does not serve that kind).

Watches DaemonSets, Pods and Nodes: a node that joins, leaves, or changes labels,
taints or readiness wakes every DaemonSet.
"""

from __future__ import annotations

import copy
import logging

from supernetes.controlplane.client import NotFound, object_key

from . import daemonsetutil as dsu
from . import podutil, scheduling
from .backoff import KeyedBackoff
from .base import Controller, handlers
from .claims import ControllerRefManager, recheck_owner
from .errors import SyncError
from .expectations import Expectations
from .hashing import compute_hash
from .podcontrol import PodControl, parallel, pod_from_template, slow_start_batch

log = logging.getLogger(__name__)


def _node_changed(old: dict, new: dict) -> bool:
    def view(node):
        meta, spec = node.get("metadata") or {}, node.get("spec") or {}
        ready = podutil.get_condition(node, "Ready") or {}
        return (meta.get("labels"), spec.get("taints"), spec.get("unschedulable"),
                ready.get("status"))
    return view(old) != view(new)


class DaemonSetController(Controller):
    name = "daemonset"
    component = "daemonset-controller"

    def setup(self) -> None:
        self.expectations = Expectations()
        self.failed_backoff = KeyedBackoff(self.config.daemon_backoff_base,
                                          self.config.daemon_backoff_max)
        self.pod_control = PodControl(self.client, self.event)
        self.sets = self.informer("apps/v1", "DaemonSet")
        self.pods = self.informer("v1", "Pod")
        self.nodes = self.informer("v1", "Node")
        self.sets.add_handler(**handlers(self.enqueue, on_delete=self._set_deleted))
        self.pods.add_handler(self._pod_added, lambda old, new: self._pod_changed(new),
                              self._pod_deleted)
        self.nodes.add_handler(lambda node: self._enqueue_all(),
                               lambda old, new: _node_changed(old, new) and self._enqueue_all(),
                               lambda node: self._enqueue_all())
        self.set_resource = self.resource("apps/v1", "DaemonSet")

    # -- handlers ---------------------------------------------------------------------------

    def _enqueue_all(self) -> None:
        for ds in self.sets.cache.list():
            self.enqueue(ds)

    def _set_deleted(self, ds: dict) -> None:
        self.expectations.delete(object_key(ds))

    def _owner_of(self, pod: dict) -> dict | None:
        ref = podutil.controller_ref(pod)
        if ref is None or ref.get("kind") != "DaemonSet":
            return None
        ds = self.sets.cache.get_by_name(ref.get("name", ""), podutil.meta(pod).get("namespace"))
        return ds if ds is not None and podutil.uid(ds) == ref.get("uid") else None

    def _pod_added(self, pod: dict) -> None:
        ds = self._owner_of(pod)
        if ds is not None:
            self.expectations.creation_observed(object_key(ds))
            self.enqueue(ds)

    def _pod_changed(self, pod: dict) -> None:
        ds = self._owner_of(pod)
        if ds is not None:
            if podutil.terminating(pod):    # a deletion we asked for counts once it starts
                self.expectations.deletion_observed(object_key(ds), podutil.uid(pod))
            self.enqueue(ds)
            min_ready = (ds.get("spec") or {}).get("minReadySeconds") or 0
            if min_ready and podutil.is_ready(pod):
                self.enqueue_after(ds, min_ready + 1)

    def _pod_deleted(self, pod: dict) -> None:
        ds = self._owner_of(pod)
        if ds is not None:
            self.expectations.deletion_observed(object_key(ds), podutil.uid(pod))
            self.enqueue(ds)

    # -- sync -------------------------------------------------------------------------------------

    def sync(self, key: str) -> None:
        cached = self.sets.cache.get(key)
        if cached is None:
            self.expectations.delete(key)
            return
        ds = copy.deepcopy(cached)
        if podutil.terminating(ds):
            return
        revision = compute_hash((ds.get("spec") or {}).get("template") or {},
                                (ds.get("status") or {}).get("collisionCount"))
        pod_spec = dsu.daemon_pod_spec(ds)
        nodes = {podutil.meta(n)["name"]: n for n in self.nodes.cache.list()}
        by_node = self._pods_by_node(ds)
        error: Exception | None = None
        if self.expectations.satisfied(key):
            try:
                self._manage(key, ds, pod_spec, nodes, by_node, revision)
                by_node = self._pods_by_node(ds)
                if self._strategy(ds) == "RollingUpdate":
                    self._roll(key, ds, pod_spec, nodes, by_node, revision)
            except Exception as exc:     # status first, then the retry
                error = exc
        self._write_status(ds, pod_spec, nodes, self._pods_by_node(ds), revision)
        if error is not None:
            raise error

    def _strategy(self, ds: dict) -> str:
        return ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")

    def _pods_by_node(self, ds: dict) -> dict[str, list[dict]]:
        namespace = podutil.meta(ds).get("namespace") or ""
        selector = (ds.get("spec") or {}).get("selector")
        manager = ControllerRefManager(
            self.pods.resource, ds, lambda pod: podutil.selects(selector, pod),
            recheck_owner(self.set_resource, ds))
        grouped: dict[str, list[dict]] = {}
        candidates = [p for p in self.pods.cache.by_index("namespace", namespace)
                      if not podutil.terminating(p)]
        for pod in manager.claim(candidates):
            grouped.setdefault(scheduling.target_node(pod), []).append(pod)
        return grouped

    def _manage(self, key: str, ds: dict, pod_spec: dict, nodes: dict, by_node: dict,
                revision: str) -> None:
        surging = dsu.budget(ds, 1)[0] > 0 and self._strategy(ds) == "RollingUpdate"
        create_on: list[str] = []
        delete: list[dict] = []
        for name, node in nodes.items():
            run, stay = dsu.should_run(pod_spec, node)
            pods = by_node.get(name, [])
            if not stay:
                delete.extend(pods)
                continue
            running = []
            for pod in pods:
                if podutil.phase(pod) != "Failed":
                    running.append(pod)
                    continue
                wait = self.failed_backoff.remaining(f"{key}/{name}")
                if wait > 0:
                    self.enqueue_after(key, wait)
                    running.append(pod)  # not replaced during its back-off
                    continue
                self.failed_backoff.failed(f"{key}/{name}")
                self.event(ds, "Warning", "FailedDaemonPod",
                           f"Found failed daemon pod {podutil.meta(pod).get('namespace')}/"
                           f"{podutil.meta(pod)['name']} on node {name}, will try to kill it")
                delete.append(pod)
            running.sort(key=lambda p: (podutil.meta(p).get("creationTimestamp", ""),
                                        podutil.meta(p)["name"]))
            if surging:
                keep, seen = [], set()
                for pod in running:
                    current = podutil.labels(pod).get(dsu.REVISION_LABEL) == revision
                    if current not in seen:
                        seen.add(current)
                        keep.append(pod)
                delete.extend(p for p in running if p not in keep)
            elif len(running) > 1:
                delete.extend(running[1:])
            if run and not running:
                create_on.append(name)
        for name, pods in by_node.items():
            if name and name not in nodes:
                delete.extend(pods)     # the node left the cluster
        self._sync_nodes(key, ds, pod_spec, delete, create_on, revision)

    def _roll(self, key: str, ds: dict, pod_spec: dict, nodes: dict, by_node: dict,
              revision: str) -> None:
        # A node that should run the pod and has none (its old pod just went) counts
        # as unavailable: it must not let the rollout take down another.
        eligible = {name: by_node.get(name, []) for name, node in nodes.items()
                    if dsu.should_run(pod_spec, node)[0]}
        desired = sum(1 for node in nodes.values() if dsu.should_run(pod_spec, node)[0])
        min_ready = (ds.get("spec") or {}).get("minReadySeconds") or 0
        to_delete, create_on = dsu.rolling_plan(ds, eligible, revision, desired, min_ready,
                                                podutil.now())
        self._sync_nodes(key, ds, pod_spec, to_delete, create_on, revision)

    def _sync_nodes(self, key: str, ds: dict, pod_spec: dict, delete: list[dict],
                    create_on: list[str], revision: str) -> None:
        if not delete and not create_on:
            return
        create_on = create_on[:self.config.burst_replicas]
        unique = {podutil.uid(p): p for p in delete}
        self.expectations.expect(key, len(create_on), unique)
        template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
        template["spec"] = pod_spec

        def create(i: int) -> None:
            pod = pod_from_template(template, ds, extra_labels={dsu.REVISION_LABEL: revision})
            scheduling.pin_to_node(pod["spec"], create_on[i])
            if self.pod_control.create(pod, ds) is None:
                self.expectations.creation_observed(key)    # namespace terminating

        def remove(pod: dict) -> None:
            if not self.pod_control.delete(pod, ds):
                self.expectations.deletion_observed(key, podutil.uid(pod))

        created, error = slow_start_batch(len(create_on), create) if create_on else (0, None)
        if created < len(create_on):
            self.expectations.creation_observed(key, len(create_on) - created)
        errors = parallel(list(unique.values()), remove)
        if errors:
            for pod in unique.values():     # no event will come for a failed deletion
                if not podutil.terminating(pod):
                    self.expectations.deletion_observed(key, podutil.uid(pod))
        if error is not None or errors:
            first = error or errors[0]
            raise SyncError(f"daemonset {key}: {created} of {len(create_on)} pods created, "
                            f"{len(unique) - len(errors)} of {len(unique)} deleted: {first}") \
                from first

    def _write_status(self, ds: dict, pod_spec: dict, nodes: dict, by_node: dict,
                      revision: str) -> None:
        min_ready = (ds.get("spec") or {}).get("minReadySeconds") or 0
        now = podutil.now()
        counts = dict.fromkeys(("desiredNumberScheduled", "currentNumberScheduled",
                                "numberMisscheduled", "numberReady", "updatedNumberScheduled",
                                "numberAvailable"), 0)
        for name, node in nodes.items():
            run, _ = dsu.should_run(pod_spec, node)
            pods = sorted(by_node.get(name, []),
                          key=lambda p: podutil.meta(p).get("creationTimestamp", ""))
            if not run:
                counts["numberMisscheduled"] += bool(pods)
                continue
            counts["desiredNumberScheduled"] += 1
            if not pods:
                continue
            counts["currentNumberScheduled"] += 1
            oldest = pods[0]
            counts["numberReady"] += podutil.is_ready(oldest)
            counts["numberAvailable"] += podutil.is_available(oldest, min_ready, now)
            counts["updatedNumberScheduled"] += any(
                podutil.labels(p).get(dsu.REVISION_LABEL) == revision for p in pods)
        status = dict(ds.get("status") or {}, **counts)
        status["numberUnavailable"] = counts["desiredNumberScheduled"] - counts["numberAvailable"]
        status["observedGeneration"] = podutil.meta(ds).get("generation", 0)
        if status == (ds.get("status") or {}):
            return
        ds["status"] = status
        try:
            self.client.replace_status(ds)
        except NotFound:
            pass                        # deleted meanwhile
