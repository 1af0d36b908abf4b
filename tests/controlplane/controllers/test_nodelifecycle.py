"""Node lifecycle against a real API server: a node whose heartbeats stop goes Unknown,
is tainted unreachable, its pods are evicted after their toleration and run again on
the other nodes; the node coming back loses the taint. Pod CIDRs are allocated per
node. (Test periods: grace 4 s, tolerations 2 s; see conftest.)"""

from __future__ import annotations

import ipaddress
import time

import pytest
from hollow import holds, wait_for
from test_deployment import complete, deployment

pytestmark = pytest.mark.slow

UNREACHABLE = "node.kubernetes.io/unreachable"


def node(client, name):
    return client.get("v1", "Node", name)


def condition(obj, kind):
    return next((c for c in obj["status"].get("conditions") or () if c["type"] == kind), {})


def taints(client, name):
    return {(t["key"], t["effect"]) for t in node(client, name)["spec"].get("taints") or ()}


def running_on(client, ns, app):
    pods = client.list("v1", "Pod", ns, label_selector=f"app={app}")["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")
            and condition(p, "Ready").get("status") == "True"]


def test_nodes_get_distinct_pod_cidrs(client, kubelet, manager, ns):
    names = [f"{kubelet.prefix}{i}" for i in range(3)]
    for name in names:
        kubelet.add_node(name)
    cidrs = wait_for(lambda: [node(client, n)["spec"].get("podCIDR") for n in names]
                     if all(node(client, n)["spec"].get("podCIDR") for n in names) else None,
                     what="a pod CIDR on every node")
    assert len(set(cidrs)) == 3
    for name, cidr in zip(names, cidrs, strict=True):
        network = ipaddress.ip_network(cidr)
        assert network.prefixlen == 24 and network.subnet_of(ipaddress.ip_network(
            "10.244.0.0/16"))
        assert node(client, name)["spec"]["podCIDRs"] == [cidr]
    allocator = manager["nodeipam"].cidrs
    used = allocator.used()
    kubelet.remove_node(names[0])
    wait_for(lambda: allocator.used() == used - 1, what="the deleted node's CIDR released")


def test_node_reporting_not_ready_is_tainted_not_ready(client, kubelet, ns):
    name = f"{kubelet.prefix}0"
    kubelet.add_node(name)
    kubelet.add_node(f"{kubelet.prefix}1")   # a healthy one: no full-disruption mode
    kubelet.set_node_ready(name, "False")
    wait_for(lambda: {("node.kubernetes.io/not-ready", "NoExecute"),
                      ("node.kubernetes.io/not-ready", "NoSchedule")} <= taints(client, name),
             timeout=20, what="the not-ready taints")
    assert (UNREACHABLE, "NoExecute") not in taints(client, name)
    kubelet.set_node_ready(name, "True")
    wait_for(lambda: not {t for t in taints(client, name) if t[0].startswith("node.kubernetes")},
             timeout=20, what="the taints gone once Ready")


def test_cordoned_node_gets_the_unschedulable_taint(client, kubelet, ns):
    name = f"{kubelet.prefix}0"
    kubelet.add_node(name)
    client.patch("v1", "Node", name, {"spec": {"unschedulable": True}})
    wait_for(lambda: ("node.kubernetes.io/unschedulable", "NoSchedule") in taints(client, name),
             what="the unschedulable taint")
    client.patch("v1", "Node", name, {"spec": {"unschedulable": False}})
    wait_for(lambda: ("node.kubernetes.io/unschedulable", "NoSchedule") not in
             taints(client, name), what="the taint gone after uncordon")


def test_new_pods_get_default_tolerations(client, ns):
    pod = client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tol"},
                         "spec": {"containers": [{"name": "a", "image": "busybox"}]}}, ns)
    tolerations = {t["key"]: t for t in pod["spec"]["tolerations"]}
    for key in ("node.kubernetes.io/not-ready", UNREACHABLE):
        assert tolerations[key]["effect"] == "NoExecute"
        assert tolerations[key]["tolerationSeconds"] == 2     # the server's flag in tests


def test_dead_node_pods_are_recreated_elsewhere(client, kubelet, ns):
    names = [f"{kubelet.prefix}{i}" for i in range(3)]
    for name in names:
        kubelet.add_node(name)
    client.create(deployment("web", 6), ns)
    wait_for(lambda: complete(client, ns, "web"), timeout=60, what="6 replicas")
    victim = names[0]
    doomed = [p["metadata"]["name"] for p in running_on(client, ns, "web")
              if p["spec"]["nodeName"] == victim]
    assert doomed, "the scheduler spread pods onto every node"
    killed = time.monotonic()
    kubelet.kill(victim)

    ready = wait_for(lambda: condition(node(client, victim), "Ready")
                     if condition(node(client, victim), "Ready").get("status") == "Unknown"
                     else None, timeout=20, what="the silent node to go Unknown")
    assert ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert condition(node(client, victim), "MemoryPressure")["status"] == "Unknown"
    wait_for(lambda: (UNREACHABLE, "NoExecute") in taints(client, victim), timeout=10,
             what="the unreachable NoExecute taint")

    def moved():
        pods = running_on(client, ns, "web")
        return len(pods) == 6 and all(p["spec"]["nodeName"] != victim for p in pods)
    wait_for(moved, timeout=40, what="6 ready replicas on the live nodes")
    elapsed = time.monotonic() - killed
    # grace 4 s + toleration 2 s, plus monitoring, recreating, scheduling: well below 20 s.
    assert elapsed < 20, f"took {elapsed:.1f} s"
    evicted = client.get("v1", "Pod", doomed[0], ns)
    assert evicted["metadata"].get("deletionTimestamp")
    assert condition(evicted, "DisruptionTarget").get("reason") == "DeletionByTaintManager"
    assert condition(evicted, "Ready")["status"] == "False"     # marked not ready

    kubelet.revive(victim)
    wait_for(lambda: condition(node(client, victim), "Ready").get("status") == "True",
             what="the node Ready again")
    wait_for(lambda: (UNREACHABLE, "NoExecute") not in taints(client, victim)
             and (UNREACHABLE, "NoSchedule") not in taints(client, victim),
             what="the taints removed")
    # Its agent is back, so the evicted pods finally go.
    wait_for(lambda: not [p for p in client.list("v1", "Pod", ns)["items"]
                          if p["spec"].get("nodeName") == victim], timeout=20,
             what="the evicted pods removed by the revived node")


def test_all_nodes_down_evicts_nothing(client, kubelet, ns):
    names = [f"{kubelet.prefix}{i}" for i in range(2)]
    for name in names:
        kubelet.add_node(name)
    client.create(deployment("calm", 2), ns)
    wait_for(lambda: complete(client, ns, "calm"), timeout=60, what="2 replicas")
    for name in names:
        kubelet.kill(name)
    wait_for(lambda: all(condition(node(client, n), "Ready").get("status") == "Unknown"
                         for n in names), timeout=20, what="both nodes Unknown")

    def untouched():
        pods = client.list("v1", "Pod", ns, label_selector="app=calm")["items"]
        return all((UNREACHABLE, "NoExecute") not in taints(client, n) for n in names) and \
            len(pods) == 2 and not any(p["metadata"].get("deletionTimestamp") for p in pods)
    # Twice the toleration: anything that was going to be evicted would have been.
    holds(untouched, 4.0, what="no taint, no eviction")
