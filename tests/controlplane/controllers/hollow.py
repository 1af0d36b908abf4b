"""Hollow nodes with a fake kubelet, as KWOK does: Node objects with no agent behind them.

`HollowKubelet` plays the node agent for a set of nodes through the real API
server, on two threads of the test process:

- heartbeats: every node's Lease in kube-node-lease is renewed every `interval`;
  its Ready condition is (re)posted when the API shows it not Ready (after the node
  lifecycle controller marked it Unknown, or at registration);
- pods bound to its nodes: a pending pod becomes Running and Ready with an IP from
  its node's pod CIDR; a terminating pod is deleted (grace 0, as the agent does once
  its containers stopped). Annotations on the pod steer it, as KWOK stages do:
      hollow.supernetes.io/ready: "false"         Running, never Ready
      hollow.supernetes.io/exit-after: "0.5"      then exits ...
      hollow.supernetes.io/exit-code: "1"         ... with this code (0: Succeeded)

`kill(node)` stops everything for a node: no heartbeat, no pod handling, as when
the machine dies; `revive(node)` brings it back.
"""

from __future__ import annotations

import copy
import ipaddress
import itertools
import logging
import threading
import time
from datetime import UTC, datetime

from supernetes.controlplane.client import ClientError, Conflict, Informer, NotFound, WorkQueue

log = logging.getLogger(__name__)

READY = "hollow.supernetes.io/ready"
EXIT_AFTER = "hollow.supernetes.io/exit-after"
EXIT_CODE = "hollow.supernetes.io/exit-code"
LEASE_NAMESPACE = "kube-node-lease"


def stamp(micro: bool = False) -> str:
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.now(UTC).strftime(fmt)


def node_body(name: str, labels=None, taints=None, cpu="8", memory="32Gi", pods="110") -> dict:
    capacity = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi"}
    now = stamp()
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  "kubernetes.io/os": "linux",
                                                  **(labels or {})}},
            "spec": {"taints": list(taints or [])},
            "status": {"capacity": capacity, "allocatable": dict(capacity),
                       "conditions": [_ready_condition(now)],
                       "addresses": [{"type": "Hostname", "address": name}]}}


def _ready_condition(now: str) -> dict:
    return {"type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "hollow kubelet is posting ready status", "lastHeartbeatTime": now,
            "lastTransitionTime": now}


class HollowKubelet:
    def __init__(self, client, interval: float = 1.0):
        self.client = client
        self.interval = interval
        self.nodes: dict[str, bool] = {}       # name -> alive
        self.node_ready: dict[str, str] = {}  # name -> the Ready status it posts
        self._ips: dict[str, itertools.count] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.queue = WorkQueue("hollow-kubelet")
        self.pods = Informer(client, "v1", "Pod")
        self.pods.add_handler(self._pod_event, lambda old, new: self._pod_event(new))
        self._exits: dict[str, float] = {}
        self._threads = [threading.Thread(target=self._heartbeats, daemon=True,
                                          name="hollow-heartbeats"),
                         *(threading.Thread(target=self._work, daemon=True,
                                            name=f"hollow-pods-{i}") for i in range(4))]

    # -- the test's controls ---------------------------------------------------------------

    def start(self) -> HollowKubelet:
        self.pods.start()
        assert self.pods.wait_for_sync(30), "the hollow kubelet's pod informer did not sync"
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, delete_nodes: bool = True) -> None:
        self._stop.set()
        self.queue.shutdown()
        self.pods.stop()
        for thread in self._threads:
            thread.join(5)
        if delete_nodes:
            for name in list(self.nodes):
                self.remove_node(name)

    def add_node(self, name: str, **kw) -> dict:
        node = node_body(name, **kw)
        # Ours before it exists: a pod may be bound to it before this call returns.
        with self._lock:
            self.nodes[name] = True
        created = self.client.create(node)
        for _ in range(10):     # controllers write the new node too (taints, pod CIDR)
            created["status"] = node["status"]
            try:
                created = self.client.replace_status(created)
                break
            except Conflict:
                created = self.client.get("v1", "Node", name)
        self._renew(name)
        for pod in self.pods.cache.list():      # bound while we were registering it
            if (pod.get("spec") or {}).get("nodeName") == name:
                self._enqueue(pod)
        return created

    def remove_node(self, name: str) -> None:
        with self._lock:
            self.nodes.pop(name, None)
        for kind, namespace in (("Node", None), ("Lease", LEASE_NAMESPACE)):
            try:
                api = "v1" if kind == "Node" else "coordination.k8s.io/v1"
                self.client.delete(api, kind, name, namespace)
            except NotFound:
                pass

    def kill(self, name: str) -> None:
        with self._lock:
            self.nodes[name] = False

    def revive(self, name: str) -> None:
        with self._lock:
            self.nodes[name] = True
        self._post_ready(name)
        for pod in self.pods.cache.list():
            if (pod.get("spec") or {}).get("nodeName") == name:
                self._enqueue(pod)

    def set_node_ready(self, name: str, status: str) -> None:
        """Post Ready=`status` from now on (a kubelet whose runtime broke posts False)."""
        self.node_ready[name] = status
        self._post_ready(name)

    def alive(self, name: str) -> bool:
        with self._lock:
            return self.nodes.get(name, False)

    def set_ready(self, namespace: str, name: str, ready: bool) -> None:
        """Flip a running pod's readiness (a readiness probe starting to fail or pass)."""
        for _ in range(10):
            pod = self.client.get("v1", "Pod", name, namespace)
            pod["metadata"].setdefault("annotations", {})[READY] = "true" if ready else "false"
            try:
                self.client.replace(pod)
                return
            except Conflict:
                continue
        raise AssertionError(f"could not flip the readiness of {namespace}/{name}")

    # -- heartbeats -------------------------------------------------------------------------

    def _renew(self, name: str) -> None:
        leases = self.client.resource("coordination.k8s.io/v1", "Lease")
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "namespace": LEASE_NAMESPACE},
                "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                         "renewTime": stamp(micro=True)}}
        try:
            current = leases.get(name, LEASE_NAMESPACE)
            current["spec"] = body["spec"]
            leases.replace(current, LEASE_NAMESPACE)
        except NotFound:
            leases.create(body, LEASE_NAMESPACE)

    def _post_ready(self, name: str) -> None:
        for _ in range(5):
            try:
                node = self.client.get("v1", "Node", name)
            except NotFound:
                return
            status = node.setdefault("status", {})
            now = stamp()
            others = [c for c in status.get("conditions") or ()
                      if c.get("type") not in ("Ready", "MemoryPressure", "DiskPressure",
                                               "PIDPressure")]
            ready = _ready_condition(now)
            if self.node_ready.get(name, "True") != "True":
                ready.update(status=self.node_ready[name], reason="KubeletNotReady",
                             message="container runtime is down")
            status["conditions"] = [*others, ready]
            try:
                self.client.replace_status(node)
                return
            except Conflict:
                continue

    def _heartbeats(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                alive = [n for n, up in self.nodes.items() if up]
            for name in alive:
                try:
                    self._renew(name)
                    node = self.client.get("v1", "Node", name)
                    ready = [c for c in (node.get("status") or {}).get("conditions") or ()
                             if c.get("type") == "Ready"]
                    if not ready or ready[0].get("status") != self.node_ready.get(name, "True"):
                        self._post_ready(name)
                except ClientError as exc:
                    log.debug("hollow heartbeat for %s: %s", name, exc)
            now = time.monotonic()
            for key, when in list(self._exits.items()):
                if when <= now:
                    self.queue.add(key)

    # -- pods -----------------------------------------------------------------------------------

    def _pod_event(self, pod: dict) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and node in self.nodes:
            self._enqueue(pod)

    def _enqueue(self, pod: dict) -> None:
        meta = pod["metadata"]
        self.queue.add(f"{meta['namespace']}/{meta['name']}")

    def _work(self) -> None:
        while True:
            key = self.queue.get()
            if key is None:
                return
            try:
                self._sync(key)
            except Conflict:
                self.queue.add_after(key, 0.05)
            except ClientError as exc:
                log.debug("hollow kubelet: %s: %s", key, exc)
                self.queue.add_after(key, 0.2)
            finally:
                self.queue.done(key)

    def _pod_ip(self, node: str) -> str:
        with self._lock:
            counter = self._ips.get(node)
        if counter is None:
            try:
                cidr = (self.client.get("v1", "Node", node).get("spec") or {}).get("podCIDR")
            except NotFound:
                cidr = None
            network = ipaddress.ip_network(cidr or f"10.{200 + len(self._ips) % 50}.0.0/16")
            with self._lock:
                counter = self._ips.setdefault(node, itertools.count(int(network[2])))
        return str(ipaddress.ip_address(next(counter)))

    def _sync(self, key: str) -> None:
        pod = self.pods.cache.get(key)
        if pod is None:
            return
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or not self.alive(node):
            return
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            # Containers stopped: confirm with grace 0 (then only finalizers may hold it).
            if meta.get("deletionGracePeriodSeconds"):
                try:
                    self.client.delete("v1", "Pod", meta["name"], meta["namespace"],
                                       grace_period_seconds=0,
                                       preconditions={"uid": meta["uid"]})
                except (NotFound, Conflict):
                    pass
            return
        status = pod.get("status") or {}
        phase = status.get("phase") or "Pending"
        annotations = meta.get("annotations") or {}
        if phase in ("Succeeded", "Failed"):
            return
        want_ready = annotations.get(READY, "true") != "false"
        exit_after = annotations.get(EXIT_AFTER)
        if phase == "Running" and exit_after is not None:
            due = self._exits.setdefault(key, time.monotonic() + float(exit_after))
            if time.monotonic() >= due:
                self._exits.pop(key, None)
                self._finish(pod, int(annotations.get(EXIT_CODE, "0")))
                return
        if phase == "Running" and _ready(pod) == want_ready:
            return
        self._run(pod, node, want_ready)

    def _run(self, pod: dict, node: str, ready: bool) -> None:
        updated = copy.deepcopy(pod)
        status = updated.setdefault("status", {})
        now = stamp()
        if status.get("phase") != "Running":
            status.update(phase="Running", podIP=status.get("podIP") or self._pod_ip(node),
                          hostIP="192.0.2.1", startTime=status.get("startTime") or now)
            status["podIPs"] = [{"ip": status["podIP"]}]
        flag = "True" if ready else "False"
        conditions = {c["type"]: c for c in status.get("conditions") or ()}
        for kind, value in (("Initialized", "True"), ("Ready", flag), ("ContainersReady", flag),
                            ("PodScheduled", "True")):
            old = conditions.get(kind)
            if old is None or old.get("status") != value:
                conditions[kind] = {"type": kind, "status": value, "lastProbeTime": None,
                                    "lastTransitionTime": now}
        status["conditions"] = list(conditions.values())
        status["containerStatuses"] = [
            {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": ready,
             "restartCount": 0, "started": True, "state": {"running": {"startedAt": now}}}
            for c in (pod.get("spec") or {}).get("containers") or ()]
        self.client.replace_status(updated)

    def _finish(self, pod: dict, code: int) -> None:
        updated = copy.deepcopy(pod)
        status = updated["status"]
        now = stamp()
        status["phase"] = "Succeeded" if code == 0 else "Failed"
        for cond in status.get("conditions") or ():
            if cond["type"] in ("Ready", "ContainersReady") and cond["status"] != "False":
                cond.update(status="False", lastTransitionTime=now)
        status["containerStatuses"] = [
            {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
             "restartCount": 0, "started": False,
             "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0
                                      else "Error", "startedAt": status.get("startTime"),
                                      "finishedAt": now}}}
            for c in (pod.get("spec") or {}).get("containers") or ()]
        self.client.replace_status(updated)


def _ready(pod: dict) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition",
             explain=None):
    """Poll `predicate` until it returns something true; fail after `timeout` seconds,
    saying what `explain()` (if given) sees at that moment."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
        except (ClientError, KeyError, IndexError, TypeError) as exc:
            value, last = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f" (last error: {last})" if last else ""
            if explain is not None:
                try:
                    detail += f"\nstate: {explain()}"
                except ClientError as exc:
                    detail += f"\nstate unknown: {exc}"
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail}")
        time.sleep(interval)


def holds(predicate, duration: float, interval: float = 0.2, what: str = "condition") -> None:
    """Assert `predicate` stays true for `duration` seconds (something must *not* happen)."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        assert predicate(), f"{what} stopped holding"
        time.sleep(interval)
