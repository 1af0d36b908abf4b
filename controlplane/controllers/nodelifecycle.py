"""Node lifecycle: notice dead nodes, taint them, and mark their pods not ready.

Every `node_monitor_period` the monitor looks at each node's heartbeats: its
Lease in kube-node-lease (renewTime) and its Ready condition (lastHeartbeatTime).
A heartbeat counts when it *changes*, timed on this process's monotonic clock, so
the node's clock never matters. A node silent for `node_monitor_grace_period`
(`node_startup_grace_period` if it never reported Ready) gets every condition
Unknown: reason NodeStatusUnknown, "Kubelet stopped posting node status." The
pods on a node that stops being Ready get Ready=False, so Services stop sending
them traffic.

Taints, written by the workers (one write per node, so they never race):
  NoSchedule, from conditions at once (TaintNodesByCondition): not-ready,
    unreachable, memory-/disk-/pid-pressure, network-unavailable, unschedulable
  NoExecute, from the Ready condition (the taint-eviction controller then evicts
    pods that do not tolerate it): node.kubernetes.io/not-ready when Ready=False,
    node.kubernetes.io/unreachable when Unknown; removed as soon as the node is
    Ready again. Adding them is rate limited per zone, as Kubernetes does, so a
    network partition does not empty a cluster at once:
      healthy zone                      node_eviction_rate nodes/s
      partial disruption (>= 55% down)  secondary rate in large zones, 0 in small
      every zone fully down             no NoExecute taints at all (the fault is
                                        more likely ours than every node's)
"""

from __future__ import annotations

import copy
import logging
import threading
import time

from supernetes.controlplane.api.meta import format_time
from supernetes.controlplane.client import ClientError, Conflict, NotFound

from . import podutil
from .base import Controller
from .ratelimiter import TokenBucket

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
NODE_INDEX = "node"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
CONDITION_TAINTS = {                    # condition type, status -> NoSchedule taint key
    ("Ready", "False"): NOT_READY, ("Ready", "Unknown"): UNREACHABLE,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
}
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
MANAGED_NOSCHEDULE = {*CONDITION_TAINTS.values(), UNSCHEDULABLE}
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
ZONE_LABELS = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone")
NORMAL, PARTIAL, FULL = "Normal", "PartialDisruption", "FullDisruption"


def node_index(pod: dict) -> list[str]:
    node = (pod.get("spec") or {}).get("nodeName")
    return [node] if node else []


def ready_status(node: dict) -> str:
    cond = podutil.get_condition(node, "Ready")
    return cond.get("status", "Unknown") if cond else "Unknown"


def zone_of(node: dict) -> str:
    labels = podutil.labels(node)
    return ":".join(labels.get(k, "") for k in ZONE_LABELS)


class _Health:
    """What the monitor last saw of a node, and when (monotonic) it last changed."""

    def __init__(self, now: float):
        self.probe = now
        self.heartbeat = None
        self.renewed = None
        self.ready = None


class NodeLifecycleController(Controller):
    name = "nodelifecycle"
    component = "node-controller"

    def setup(self) -> None:
        self.nodes = self.informer("v1", "Node")
        self.leases = self.informer("coordination.k8s.io/v1", "Lease",
                                    namespace=LEASE_NAMESPACE)
        self.pods = self.informer("v1", "Pod", indexers={NODE_INDEX: node_index})
        self.nodes.add_handler(self.enqueue, lambda old, new: self.enqueue(new),
                               self._forget)
        self.node_resource = self.resource("v1", "Node")
        self.pod_resource = self.resource("v1", "Pod")
        self._lock = threading.Lock()
        self._health: dict[str, _Health] = {}
        self._noexecute: dict[str, str | None] = {}     # node -> wanted NoExecute taint
        self._pending: dict[str, float] = {}            # node -> when it became unhealthy
        self._buckets: dict[str, TokenBucket] = {}
        self._zone_states: dict[str, str] = {}

    def _forget(self, node: dict) -> None:
        name = podutil.meta(node).get("name", "")
        with self._lock:
            self._health.pop(name, None)
            self._noexecute.pop(name, None)
            self._pending.pop(name, None)

    # -- the monitor -------------------------------------------------------------------------

    def run_extra(self, stop: threading.Event) -> None:
        while not stop.wait(self.config.node_monitor_period):
            try:
                self.monitor()
            except Exception:
                log.exception("nodelifecycle: monitoring node health failed")

    def monitor(self) -> None:
        now = time.monotonic()
        nodes = self.nodes.cache.list()
        zones: dict[str, list[str]] = {}
        for node in nodes:
            name = podutil.meta(node)["name"]
            status = self._check(node, now)
            zones.setdefault(zone_of(node), []).append(status)
            wanted = {"False": NOT_READY, "Unknown": UNREACHABLE}.get(status)
            with self._lock:
                if wanted is None:
                    self._pending.pop(name, None)
                    self._set_noexecute(node, None)
                elif self._noexecute.get(name) != wanted:
                    self._pending.setdefault(name, now)
        self._update_zones(zones)
        self._taint_pending(nodes)

    def _check(self, node: dict, now: float) -> str:
        """The node's Ready status after this look (Unknown if it fell silent)."""
        name = podutil.meta(node)["name"]
        lease = self.leases.cache.get_by_name(name, LEASE_NAMESPACE)
        renewed = ((lease or {}).get("spec") or {}).get("renewTime")
        ready = podutil.get_condition(node, "Ready")
        heartbeat = (ready or {}).get("lastHeartbeatTime")
        with self._lock:
            health = self._health.get(name)
            if health is None:
                health = self._health[name] = _Health(now)
            if heartbeat != health.heartbeat or renewed != health.renewed:
                health.probe = now
                health.heartbeat, health.renewed = heartbeat, renewed
        grace = self.config.node_monitor_grace_period if ready is not None \
            else self.config.node_startup_grace_period
        status = ready_status(node)
        if now - health.probe > grace and any(
                (podutil.get_condition(node, c) or {}).get("status") != "Unknown"
                for c in MONITORED_CONDITIONS):
            self._mark_unknown(node)
            status = "Unknown"
        previous, health.ready = health.ready, status
        if previous == "True" and status != "True":
            self._mark_pods_not_ready(name)
        return status

    def _mark_unknown(self, node: dict) -> None:
        updated = copy.deepcopy(node)
        status = updated.setdefault("status", {})
        stamp = format_time(podutil.now())
        created = podutil.meta(node).get("creationTimestamp")
        for kind in MONITORED_CONDITIONS:
            cond = podutil.get_condition(status, kind)
            if cond is None:
                podutil.set_condition(status, {
                    "type": kind, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                    "message": "Kubelet never posted node status.",
                    "lastHeartbeatTime": created, "lastTransitionTime": stamp})
            elif cond.get("status") != "Unknown":
                podutil.set_condition(status, dict(
                    cond, status="Unknown", reason="NodeStatusUnknown",
                    message="Kubelet stopped posting node status.", lastTransitionTime=stamp))
        try:
            self.client.replace_status(updated)
        except (Conflict, NotFound):
            return                      # changed meanwhile: the next look decides again
        name = podutil.meta(node)["name"]
        log.info("nodelifecycle: node %s stopped posting its status; marked Unknown", name)
        self.event(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")

    def _mark_pods_not_ready(self, node_name: str) -> None:
        for pod in self.pods.cache.by_index(NODE_INDEX, node_name):
            if not podutil.is_ready(pod) or podutil.is_terminal(pod):
                continue
            updated = copy.deepcopy(pod)
            cond = podutil.get_condition(updated, "Ready")
            podutil.set_condition(updated["status"], dict(
                cond, status="False", lastTransitionTime=format_time(podutil.now())))
            try:
                self.client.replace_status(updated)
            except ClientError as exc:
                log.debug("nodelifecycle: marking pod %s not ready: %s",
                          podutil.meta(pod).get("name"), exc)

    # -- NoExecute taints, rate limited by zone ------------------------------------------------

    def _update_zones(self, zones: dict[str, list[str]]) -> None:
        states = {}
        for zone, statuses in zones.items():
            down = sum(1 for s in statuses if s != "True")
            if down and down == len(statuses):
                states[zone] = FULL
            elif down > 2 and down / len(statuses) >= self.config.unhealthy_zone_threshold:
                states[zone] = PARTIAL
            else:
                states[zone] = NORMAL
            rate = self.config.node_eviction_rate
            if states[zone] == PARTIAL:
                large = len(statuses) > self.config.large_cluster_size_threshold
                rate = self.config.secondary_node_eviction_rate if large else 0.0
            bucket = self._buckets.get(zone)
            if bucket is None:
                self._buckets[zone] = TokenBucket(rate, 1)
            else:
                bucket.set_rate(rate)
            if states[zone] != self._zone_states.get(zone):
                log.info("nodelifecycle: zone %r is now in state %s", zone, states[zone])
        self._zone_states = states

    def _taint_pending(self, nodes: list[dict]) -> None:
        all_down = bool(self._zone_states) and all(s == FULL for s in self._zone_states.values())
        with self._lock:
            if all_down:
                # Every node down at once: more likely our own network than all of them.
                # Take NoExecute taints back and evict nothing until some node is back.
                for node in nodes:
                    self._set_noexecute(node, None)
                return
            for node in sorted(nodes, key=lambda n: self._pending.get(
                    podutil.meta(n)["name"], 0.0)):
                name = podutil.meta(node)["name"]
                if name not in self._pending:
                    continue
                bucket = self._buckets.get(zone_of(node))
                if bucket is None or not bucket.take():
                    continue
                status = ready_status(node)
                health = self._health.get(name)
                if health is not None and health.ready:
                    status = health.ready
                del self._pending[name]
                self._set_noexecute(node, NOT_READY if status == "False" else UNREACHABLE)

    def _set_noexecute(self, node: dict, taint: str | None) -> None:
        name = podutil.meta(node)["name"]
        if self._noexecute.get(name, "unset") != taint:
            self._noexecute[name] = taint
            self.enqueue(node)

    # -- sync: write the node's taints -----------------------------------------------------------

    def sync(self, key: str) -> None:
        node = self.nodes.cache.get(key)
        if node is None:
            return
        with self._lock:
            known = key in self._noexecute
            noexecute = self._noexecute.get(key)
        taints = list((node.get("spec") or {}).get("taints") or [])
        wanted = self._noschedule_keys(node)
        kept = [t for t in taints if not (t.get("effect") == "NoSchedule"
                                          and t.get("key") in MANAGED_NOSCHEDULE
                                          and t.get("key") not in wanted)]
        present = {t.get("key") for t in kept if t.get("effect") == "NoSchedule"}
        kept += [{"key": k, "effect": "NoSchedule"} for k in sorted(wanted - present)]
        if known:
            kept = [t for t in kept if not (t.get("effect") == "NoExecute" and
                                            t.get("key") in (NOT_READY, UNREACHABLE) and
                                            t.get("key") != noexecute)]
            if noexecute and not any(t.get("key") == noexecute and t.get("effect") == "NoExecute"
                                     for t in kept):
                kept.append({"key": noexecute, "effect": "NoExecute",
                             "timeAdded": format_time(podutil.now())})
                log.info("nodelifecycle: node %s tainted %s:NoExecute", key, noexecute)
        if kept == taints:
            return
        patch = {"metadata": {"resourceVersion": podutil.meta(node).get("resourceVersion")},
                 "spec": {"taints": kept}}
        try:
            self.node_resource.patch(key, patch, patch_type="merge")
        except NotFound:
            return

    @staticmethod
    def _noschedule_keys(node: dict) -> set[str]:
        wanted = set()
        for cond in (node.get("status") or {}).get("conditions") or ():
            taint = CONDITION_TAINTS.get((cond.get("type"), cond.get("status")))
            if taint:
                wanted.add(taint)
        if podutil.get_condition(node, "Ready") is None:
            wanted.add(NOT_READY)
        if (node.get("spec") or {}).get("unschedulable"):
            wanted.add(UNSCHEDULABLE)
        return wanted
