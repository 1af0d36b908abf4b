"""The DaemonSet controller against a real API server with hollow nodes: one pod per
eligible node, following nodes that join and leave, nodeSelector and taints, the
rolling update within maxUnavailable, and status."""

from __future__ import annotations

import pytest
from hollow import wait_for
from test_deployment import PodCounter

pytestmark = pytest.mark.slow


def daemonset(name: str, image: str = "fluentd:1", **spec) -> dict:
    labels = {"app": name}
    body = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "agent", "image": image}]}}}}
    body["spec"].update(spec)
    return body


def placement(client, ns, app) -> dict[str, str]:
    pods = client.list("v1", "Pod", ns, label_selector=f"app={app}")["items"]
    return {p["spec"].get("nodeName"): p["status"].get("phase") for p in pods
            if not p["metadata"].get("deletionTimestamp")}


def status(client, ns, name):
    return client.get("apps/v1", "DaemonSet", name, ns).get("status") or {}


def explain(client, ns, name):
    def state():
        pods = [(p["metadata"]["name"], p["spec"].get("nodeName"), p["status"].get("phase"),
                 bool(p["metadata"].get("deletionTimestamp")),
                 [(c["type"], c["status"], c.get("message", "")[:120])
                  for c in p["status"].get("conditions") or ()])
                for p in client.list("v1", "Pod", ns, label_selector=f"app={name}")["items"]]
        nodes = [(n["metadata"]["name"], n["spec"].get("taints"))
                 for n in client.list("v1", "Node")["items"]]
        return {"pods": pods, "status": status(client, ns, name), "nodes": nodes}
    return state


def settled(client, ns, name, nodes):
    st = status(client, ns, name)
    want = len(nodes)
    return (set(placement(client, ns, name)) == set(nodes) and
            st.get("desiredNumberScheduled") == want and st.get("numberReady") == want and
            st.get("numberAvailable") == want and st.get("updatedNumberScheduled") == want)


def test_daemonset_follows_nodes_joining_and_leaving(client, kubelet, ns):
    nodes = [f"{kubelet.prefix}{i}" for i in range(2)]
    for name in nodes:
        kubelet.add_node(name)
    client.create(daemonset("agent"), ns)
    wait_for(lambda: settled(client, ns, "agent", nodes), timeout=60, what="a pod per node",
             explain=explain(client, ns, "agent"))
    pod = client.list("v1", "Pod", ns, label_selector="app=agent")["items"][0]
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                       "values": [pod["spec"]["nodeName"]]}]}]
    keys = {t.get("key") for t in pod["spec"]["tolerations"]}
    assert {"node.kubernetes.io/unreachable", "node.kubernetes.io/unschedulable"} <= keys
    assert pod["metadata"]["labels"]["controller-revision-hash"]

    nodes.append(f"{kubelet.prefix}2")
    kubelet.add_node(nodes[-1])
    wait_for(lambda: settled(client, ns, "agent", nodes), timeout=60,
             what="a pod on the new node", explain=explain(client, ns, "agent"))
    gone = nodes.pop(0)
    kubelet.remove_node(gone)
    wait_for(lambda: settled(client, ns, "agent", nodes) and gone not in
             placement(client, ns, "agent"), timeout=60, what="the pod of the gone node removed")
    st = status(client, ns, "agent")
    assert st["currentNumberScheduled"] == 2 and st["numberMisscheduled"] == 0
    assert st["numberUnavailable"] == 0
    assert st["observedGeneration"] == client.get("apps/v1", "DaemonSet", "agent",
                                                  ns)["metadata"]["generation"]


def test_node_selector_and_taints_choose_the_nodes(client, kubelet, ns):
    labelled = f"{kubelet.prefix}gpu"
    plain = f"{kubelet.prefix}plain"
    tainted = f"{kubelet.prefix}tainted"
    kubelet.add_node(labelled, labels={"gpu": "yes"})
    kubelet.add_node(plain)
    kubelet.add_node(tainted, labels={"gpu": "yes"},
                     taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    client.create(_with_selector(daemonset("gpu"), {"gpu": "yes"}), ns)
    wait_for(lambda: set(placement(client, ns, "gpu")) == {labelled} and
             status(client, ns, "gpu").get("numberReady") == 1, timeout=60,
             what="a pod on the labelled untainted node only")
    # Labelling the plain node brings a pod to it.
    client.patch("v1", "Node", plain, {"metadata": {"labels": {"gpu": "yes"}}})
    wait_for(lambda: set(placement(client, ns, "gpu")) == {labelled, plain}, timeout=60,
             what="a pod on the newly labelled node")
    assert status(client, ns, "gpu")["desiredNumberScheduled"] == 2


def _with_selector(body: dict, selector: dict) -> dict:
    body["spec"]["template"]["spec"]["nodeSelector"] = selector
    return body


def test_rolling_update_replaces_pods_within_max_unavailable(client, kubelet, ns):
    nodes = [f"{kubelet.prefix}{i}" for i in range(4)]
    for name in nodes:
        kubelet.add_node(name)
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    client.create(daemonset("roll", updateStrategy=strategy), ns)
    wait_for(lambda: settled(client, ns, "roll", nodes), timeout=60, what="4 daemon pods")
    old_hash = {p["metadata"]["labels"]["controller-revision-hash"] for p in
                client.list("v1", "Pod", ns, label_selector="app=roll")["items"]}
    counter = PodCounter(client, ns, "roll")
    try:
        client.patch("apps/v1", "DaemonSet", "roll", {"spec": {"template": {"spec": {
            "containers": [{"name": "agent", "image": "fluentd:2"}]}}}}, ns)

        def updated():
            pods = client.list("v1", "Pod", ns, label_selector="app=roll")["items"]
            hashes = {p["metadata"]["labels"]["controller-revision-hash"] for p in pods}
            return settled(client, ns, "roll", nodes) and not hashes & old_hash
        wait_for(updated, timeout=90, what="every daemon pod updated")
    finally:
        counter.stop()
    assert counter.min_ready >= 3           # 4 nodes, maxUnavailable 1
    assert counter.max_total <= 4
