"""Hollow nodes and pods on a real API server, for the scheduler's integration tests and
its benchmark: Node objects with no agent behind them (like Kubemark/KWOK), Ready, with
the capacity the test sets."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from supernetes.controlplane.client import NotFound


def hollow_node(name, cpu="4", memory="8Gi", pods="110", labels=None, taints=None,
                unschedulable=False, ready="True") -> dict:
    resources = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  **(labels or {})}},
            "spec": {"taints": list(taints or []), "unschedulable": unschedulable},
            "status": {"capacity": resources, "allocatable": dict(resources),
                       "conditions": [{"type": "Ready", "status": ready,
                                       "reason": "KubeletReady", "message": "hollow node"}]}}


def create_node(client, node: dict) -> dict:
    """Create a Node, then write its status (which a create may not keep)."""
    created = client.create(node)
    created["status"] = node["status"]
    return client.replace_status(created)


def create_nodes(client, nodes: list[dict], workers: int = 16) -> None:
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda n: create_node(client, n), nodes))


def delete_nodes(client, names) -> None:
    def delete(name):
        try:
            client.delete("v1", "Node", name)
        except NotFound:
            pass
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(delete, names))


def pending_pod(name, namespace, cpu=None, memory=None, owner=None, host_port=None,
                node_selector=None, scheduler_name=None, tolerations=None) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container = {"name": "app", "image": "busybox", "resources": {"requests": requests}}
    if host_port:
        container["ports"] = [{"containerPort": 80, "hostPort": host_port}]
    spec = {"containers": [container]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    if scheduler_name:
        spec["schedulerName"] = scheduler_name
    if tolerations:
        spec["tolerations"] = tolerations
    meta = {"name": name, "namespace": namespace}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                    "name": owner["name"], "uid": owner["uid"],
                                    "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
