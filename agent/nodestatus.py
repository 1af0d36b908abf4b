"""The node in the API: registration, the Lease heartbeat, and node status.

As the kubelet (since Kubernetes 1.17) does it, two signals with two rhythms:

  Lease      kube-node-lease/<node>, `spec.renewTime` rewritten every
             `node_status_period` (10 s): the cheap "I am alive" the node
             lifecycle controller watches; `leaseDurationSeconds` 40.
  status     capacity, allocatable, conditions (Ready, MemoryPressure,
             DiskPressure, PIDPressure), addresses, daemon endpoint, node info
             and the images on the node, read from the machine (`nodeinfo.py`)
             each period but written only when something changed, or once a
             minute so the conditions' heartbeat times stay fresh.

`register()` creates the Node (with `--register-with-taints`' taints, which an
existing Node does not get again) or adopts the one a previous run made, and
settles its pod CIDR: the one the control plane allocated wins; until one is
allocated, `--pod-cidr` is written into the Node's spec; with neither, it waits.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from supernetes.controlplane.client import AlreadyExists, ClientError, Conflict, NotFound

from . import nodeinfo

log = logging.getLogger(__name__)

AGENT_VERSION = "v1.33.0-supernetes"
LEASE_NAMESPACE = "kube-node-lease"
STATUS_REFRESH = 60.0  # write the status at least this often


def micro_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + \
        f".{int(epoch % 1 * 1e6):06d}Z"


class NodeStatusReporter:
    def __init__(self, agent):
        self.agent = agent
        self.nodes = agent.client.resource("v1", "Node")
        self.leases = agent.client.resource("coordination.k8s.io/v1", "Lease")
        self.node: dict | None = None
        self._written = ""
        self._written_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- registration --------------------------------------------------------------------

    def register(self, pod_cidr_timeout: float | None = None) -> str:
        """Create or adopt the Node; returns its pod CIDR (waiting for one if need be)."""
        agent = self.agent
        config = agent.config
        arch = nodeinfo.node_info("", "")["architecture"]
        labels = {"kubernetes.io/hostname": config.node_name, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux",
                  "beta.kubernetes.io/arch": arch, **config.labels}
        spec: dict = {"podCIDR": config.pod_cidr, "podCIDRs": [config.pod_cidr]} \
            if config.pod_cidr else {}
        if config.taints:
            # As the kubelet: only a new Node gets them; a taint an admin removed
            # from an existing Node stays removed when the agent restarts.
            spec["taints"] = [dict(t) for t in config.taints]
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": config.node_name, "labels": labels}, "spec": spec}
        try:
            self.node = self.nodes.create(body)
            log.info("registered node %s", config.node_name)
        except AlreadyExists:
            self.node = self.nodes.get(config.node_name)
            missing = {k: v for k, v in labels.items()
                       if (self.node["metadata"].get("labels") or {}).get(k) != v}
            if missing:
                self.node = self.nodes.patch(config.node_name, {"metadata": {"labels": missing}},
                                             patch_type="merge")
        deadline = None if pod_cidr_timeout is None else time.monotonic() + pod_cidr_timeout
        while True:
            cidr = (self.node.get("spec") or {}).get("podCIDR")
            if cidr:
                return cidr
            if config.pod_cidr:
                self.node = self.nodes.patch(config.node_name, {"spec": {
                    "podCIDR": config.pod_cidr, "podCIDRs": [config.pod_cidr]}},
                    patch_type="merge")
                continue
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"node {config.node_name} got no pod CIDR from the "
                                   "control plane (pass --pod-cidr)")
            time.sleep(1.0)
            self.node = self.nodes.get(config.node_name)

    # --- the loop ------------------------------------------------------------------------

    def start(self) -> None:
        self.tick()
        self._thread = threading.Thread(target=self._run, name="node-status", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.agent.config.node_status_period):
            self.tick()

    def tick(self) -> None:
        try:
            self.renew_lease()
        except ClientError as exc:
            log.warning("renewing the node lease failed: %s", exc)
        try:
            self.update_status()
        except ClientError as exc:
            log.warning("updating the node status failed: %s", exc)

    def renew_lease(self) -> None:
        agent = self.agent
        name = agent.config.node_name
        now = micro_time(time.time())
        spec = {"holderIdentity": name, "leaseDurationSeconds": agent.config.lease_duration,
                "renewTime": now}
        try:
            lease = self.leases.get(name, LEASE_NAMESPACE)
        except NotFound:
            owner = self.node or self.nodes.get(name)
            self.leases.create({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "namespace": LEASE_NAMESPACE, "ownerReferences": [{
                    "apiVersion": "v1", "kind": "Node", "name": name,
                    "uid": owner["metadata"]["uid"]}]},
                "spec": {**spec, "acquireTime": now}}, LEASE_NAMESPACE)
            return
        lease["spec"] = {**(lease.get("spec") or {}), **spec}
        self.leases.replace(lease, LEASE_NAMESPACE)

    def status(self, old: dict) -> dict:
        agent = self.agent
        config = agent.config
        cap = nodeinfo.capacity(config.root_dir, config.max_pods)
        alloc = nodeinfo.allocatable(cap)
        ready = agent.ready()
        conditions = nodeinfo.conditions(old.get("conditions") or [], ready,
                                         nodeinfo.pressure(config.root_dir))
        images = []
        for image in agent.images.service.images()[:50]:
            images.append({"names": [image.name, f"{image.name.rsplit(':', 1)[0]}@"
                                     f"{image.record.digest}"], "sizeBytes": image.size})
        return {
            "capacity": cap, "allocatable": alloc, "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": agent.node_ip},
                          {"type": "Hostname", "address": config.node_name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": agent.server_port}},
            "nodeInfo": nodeinfo.node_info(agent.runtime.version(), AGENT_VERSION),
            "images": images,
        }

    def update_status(self) -> None:
        name = self.agent.config.node_name
        if self.node is None:
            self.node = self.nodes.get(name)
        status = self.status(self.node.get("status") or {})
        key = _without_heartbeats(status)
        if key == self._written and time.time() - self._written_at < STATUS_REFRESH:
            return
        body = dict(self.node, status=status)
        try:
            self.node = self.nodes.replace(body, subresource="status")
        except Conflict:
            self.node = self.nodes.get(name)
            self.node = self.nodes.replace(dict(self.node, status=status), subresource="status")
        self._written, self._written_at = key, time.time()


def _without_heartbeats(status: dict) -> str:
    conditions = [{k: v for k, v in c.items() if k != "lastHeartbeatTime"}
                  for c in status.get("conditions", [])]
    return json.dumps({**status, "conditions": conditions}, sort_keys=True)

