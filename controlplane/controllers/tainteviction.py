"""Taint-based eviction: pods leave a node tainted NoExecute unless they tolerate it.

    sync(namespace/name of a pod bound to a node):
      the node's NoExecute taints, none          -> nothing
      a taint the pod does not tolerate          -> evict now
      every taint tolerated, for ever            -> nothing
      tolerated for tolerationSeconds            -> evict when the earliest
                                                    (taint's timeAdded + seconds) passes;
                                                    until then the key waits in the queue

Evicting is Kubernetes' taint manager's: the pod gets the condition
DisruptionTarget=True (reason DeletionByTaintManager) and is deleted gracefully; a
`TaintManagerEviction` Event says so. Its ReplicaSet (or Job, or DaemonSet) sees a
terminating pod and makes a replacement, which the scheduler keeps off the tainted
node. The API server gives every pod tolerations for not-ready and unreachable
with a short tolerationSeconds, so the pods of a dead node move after that delay.
"""

from __future__ import annotations

import copy
import logging
import time

from supernetes.controlplane.api.meta import parse_time
from supernetes.controlplane.client import ClientError, NotFound, object_key

from . import podutil, scheduling
from .base import Controller
from .nodelifecycle import NODE_INDEX, node_index

log = logging.getLogger(__name__)


def noexecute_taints(node: dict | None) -> list[dict]:
    return [t for t in ((node or {}).get("spec") or {}).get("taints") or ()
            if t.get("effect") == "NoExecute"]


def eviction_time(pod: dict, taints: list[dict], first_seen) -> float | None:
    """Epoch seconds when the pod must go (now or earlier: at once), None for never."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    deadline = None
    for taint in taints:
        used = [t for t in tolerations if scheduling.tolerates(t, taint)]
        if not used:
            return 0.0
        seconds = [t["tolerationSeconds"] for t in used if t.get("tolerationSeconds") is not None]
        if not seconds:
            continue                    # tolerated for ever
        added = parse_time(taint.get("timeAdded"))
        start = added.timestamp() if added else first_seen(taint)
        when = start + max(min(seconds), 0)
        deadline = when if deadline is None else min(deadline, when)
    return deadline


class TaintEvictionController(Controller):
    name = "taint-eviction"
    component = "taint-eviction-controller"

    def setup(self) -> None:
        self.nodes = self.informer("v1", "Node")
        self.pods = self.informer("v1", "Pod", indexers={NODE_INDEX: node_index})
        self.nodes.add_handler(self._node_changed, self._node_updated)
        self.pods.add_handler(self._pod_changed, lambda old, new: self._pod_changed(new))
        self.pod_resource = self.resource("v1", "Pod")
        self._first_seen: dict[tuple, float] = {}

    def _node_changed(self, node: dict) -> None:
        if noexecute_taints(node):
            for pod in self.pods.cache.by_index(NODE_INDEX, podutil.meta(node)["name"]):
                self.enqueue(pod)

    def _node_updated(self, old: dict, new: dict) -> None:
        if noexecute_taints(old) != noexecute_taints(new):
            self._node_changed(new)

    def _pod_changed(self, pod: dict) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and noexecute_taints(self.nodes.cache.get(node)) and podutil.is_active(pod):
            self.enqueue(pod)

    def _seen(self, node: str):
        def first_seen(taint: dict) -> float:
            return self._first_seen.setdefault((node, taint.get("key"), taint.get("value")),
                                               time.time())
        return first_seen

    def sync(self, key: str) -> None:
        pod = self.pods.cache.get(key)
        if pod is None or not podutil.is_active(pod):
            return
        node_name = (pod.get("spec") or {}).get("nodeName")
        taints = noexecute_taints(self.nodes.cache.get(node_name) if node_name else None)
        if not taints:
            return
        when = eviction_time(pod, taints, self._seen(node_name))
        if when is None:
            return
        left = when - time.time()
        if left > 0:
            self.enqueue_after(key, left)
            return
        self.evict(pod, node_name)

    def evict(self, pod: dict, node_name: str) -> None:
        meta = podutil.meta(pod)
        updated = copy.deepcopy(pod)
        podutil.set_condition(updated.setdefault("status", {}), podutil.condition(
            "DisruptionTarget", "True", "DeletionByTaintManager",
            "Taint manager: deleting due to NoExecute taint"))
        try:
            self.client.replace_status(updated)
        except ClientError as exc:      # the condition is a courtesy; the deletion is not
            log.debug("taint-eviction: condition on %s: %s", object_key(pod), exc)
        try:
            self.pod_resource.delete(meta["name"], meta.get("namespace"),
                                     preconditions={"uid": meta.get("uid")})
        except NotFound:
            return
        log.info("taint-eviction: evicted %s from node %s", object_key(pod), node_name)
        self.event(pod, "Normal", "TaintManagerEviction",
                   f"Marking for deletion Pod {object_key(pod)}")
