"""Pod garbage collection: pods nobody else will ever remove.

Every 20 s (and at start):
  - orphaned pods: bound to a node that no longer exists (after a short quarantine,
    so a node being re-registered is not mistaken for a gone one) - no agent will
    ever stop or delete them: force-deleted (grace 0);
  - terminating pods that were never scheduled: no agent owns them: force-deleted;
  - finished pods (Succeeded/Failed) beyond terminated_pod_gc_threshold, oldest
    first, unless a controller still needs to count them (a Job's tracking
    finalizer keeps them until counted).

Pods on a node that is merely unreachable are *not* force-deleted: the node may
still run them, and a StatefulSet-like owner must not get two of one pod; their
replacements run elsewhere already (see taint eviction).
"""

from __future__ import annotations

import logging
import threading
import time

from supernetes.controlplane.api.meta import parse_time
from supernetes.controlplane.client import ClientError, NotFound, object_key

from . import podutil
from .base import Controller
from .nodelifecycle import NODE_INDEX, node_index

log = logging.getLogger(__name__)

GC_PERIOD = 20.0


class PodGCController(Controller):
    name = "podgc"
    component = "pod-garbage-collector"

    def setup(self) -> None:
        self.nodes = self.informer("v1", "Node")
        self.pods = self.informer("v1", "Pod", indexers={NODE_INDEX: node_index})
        self.nodes.add_handler(on_delete=self._node_deleted)
        self.pod_resource = self.resource("v1", "Pod")
        self._missing_since: dict[str, float] = {}

    def _node_deleted(self, node: dict) -> None:
        self.queue.add("gc")
        self.queue.add_after("gc", self.config.orphaned_pod_quarantine + 0.5)

    def run_extra(self, stop: threading.Event) -> None:
        self.queue.add("gc")
        while not stop.wait(GC_PERIOD):
            self.queue.add("gc")

    def sync(self, key: str) -> None:
        self.collect_orphans()
        self.collect_unscheduled_terminating()
        self.collect_terminated()

    def _force_delete(self, pod: dict, why: str) -> None:
        meta = podutil.meta(pod)
        try:
            self.pod_resource.delete(meta["name"], meta.get("namespace"),
                                     grace_period_seconds=0,
                                     preconditions={"uid": meta.get("uid")})
            log.info("podgc: force-deleted %s: %s", object_key(pod), why)
        except NotFound:
            pass
        except ClientError as exc:
            log.warning("podgc: deleting %s: %s", object_key(pod), exc)

    def collect_orphans(self) -> None:
        now = time.monotonic()
        present = {podutil.meta(n)["name"] for n in self.nodes.cache.list()}
        quarantine = self.config.orphaned_pod_quarantine
        bound = set(self.pods.cache.index_values(NODE_INDEX))
        for node in list(self._missing_since):
            if node in present or node not in bound:
                del self._missing_since[node]
        for node in bound - present:
            since = self._missing_since.setdefault(node, now)
            if now - since < quarantine:
                self.queue.add_after("gc", quarantine - (now - since) + 0.5)
                continue
            try:    # the cache may lag: ask the server before deleting anything
                self.nodes.resource.get(node)
                continue
            except NotFound:
                pass
            for pod in self.pods.cache.by_index(NODE_INDEX, node):
                self._force_delete(pod, f"its node {node} is gone")

    def collect_unscheduled_terminating(self) -> None:
        for pod in self.pods.cache.list():
            if podutil.terminating(pod) and not (pod.get("spec") or {}).get("nodeName") \
                    and not podutil.meta(pod).get("finalizers"):
                self._force_delete(pod, "terminating and never scheduled")

    def collect_terminated(self) -> None:
        threshold = self.config.terminated_pod_gc_threshold
        if threshold <= 0:
            return
        finished = [p for p in self.pods.cache.list()
                    if podutil.is_terminal(p) and not podutil.terminating(p)]
        surplus = len(finished) - threshold
        if surplus <= 0:
            return
        finished.sort(key=lambda p: parse_time(podutil.meta(p).get("creationTimestamp"))
                      or podutil.now())
        for pod in finished[:surplus]:
            self._force_delete(pod, "too many terminated pods")
