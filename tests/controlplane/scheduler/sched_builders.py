"""Builders for scheduler tests: Node and Pod objects as the API server stores them,
a node table filled with them, and profiles from a scheduler config document."""

from __future__ import annotations

from supernetes.controlplane.scheduler.cache import PodCache
from supernetes.controlplane.scheduler.config import SchedulerConfig
from supernetes.controlplane.scheduler.nodetable import NodeTable
from supernetes.controlplane.scheduler.podinfo import PodInfo


def make_node(name, cpu="4", memory="8Gi", pods="110", labels=None, taints=None,
              ready="True", unschedulable=False, conditions=None, extra=None):
    allocatable = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi"}
    allocatable.update(extra or {})
    conds = [{"type": "Ready", "status": ready}] if ready is not None else []
    conds += [{"type": t, "status": s} for t, s in (conditions or {}).items()]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": dict(labels or {})},
            "spec": {"taints": list(taints or []), "unschedulable": unschedulable},
            "status": {"capacity": dict(allocatable), "allocatable": allocatable,
                       "conditions": conds}}


def make_pod(name, cpu=None, memory=None, namespace="default", node_name=None, owner=None,
             priority=None, host_port=None, tolerations=None, node_selector=None,
             affinity=None, containers=None, phase=None, scheduler_name=None, **spec_extra):
    requests = {}
    if cpu is not None:
        requests["cpu"] = cpu
    if memory is not None:
        requests["memory"] = memory
    container = {"name": "app", "image": "busybox", "resources": {"requests": requests}}
    if host_port:
        container["ports"] = [{"containerPort": 80, "hostPort": host_port, "protocol": "TCP"}]
    spec = {"containers": containers or [container], **spec_extra}
    for key, value in (("nodeName", node_name), ("priority", priority),
                       ("tolerations", tolerations), ("nodeSelector", node_selector),
                       ("affinity", affinity), ("schedulerName", scheduler_name)):
        if value is not None:
            spec[key] = value
    meta = {"name": name, "namespace": namespace, "uid": f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                    "name": owner, "uid": f"uid-{owner}", "controller": True}]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    if phase:
        pod["status"] = {"phase": phase}
    return pod


def info(pod: dict) -> PodInfo:
    return PodInfo.from_pod(pod)


def table(*nodes) -> NodeTable:
    t = NodeTable(capacity=2)      # small, so tests exercise growth
    for node in nodes:
        t.upsert(node)
    return t


def place(t: NodeTable, pod: dict, node: str, cache: PodCache | None = None) -> PodInfo:
    """Account a pod on a node, as if the API server reported it bound there."""
    pod = dict(pod, spec=dict(pod["spec"], nodeName=node))
    pi = info(pod)
    (cache if cache is not None else PodCache(t)).set_bound(pi)
    return pi


def profile(doc: dict | None = None, name="default-scheduler"):
    return SchedulerConfig.from_document(doc or {}).build_profiles()[name]


def plugin(name: str, args: dict | None = None):
    from supernetes.controlplane.scheduler.framework import plugin_class

    return plugin_class(name)(args)
