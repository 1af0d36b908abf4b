"""The ReplicaSet controller against a real API server with hollow nodes."""

from __future__ import annotations

import threading

import pytest
from hollow import wait_for

pytestmark = pytest.mark.slow


def replica_set(name: str, replicas: int, labels=None, min_ready: int = 0) -> dict:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app",
                                                           "image": "busybox:1.36"}]}}}}


def active_pods(client, ns, selector):
    pods = client.list("v1", "Pod", ns, label_selector=selector)["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def test_replicaset_keeps_replicas_and_reports_status(client, kubelet, ns):
    for i in range(2):
        kubelet.add_node(f"{kubelet.prefix}{i}")
    client.create(replica_set("web", 3), ns)
    rs = wait_for(lambda: (lambda r: r if r.get("status", {}).get("readyReplicas") == 3
                           else None)(client.get("apps/v1", "ReplicaSet", "web", ns)),
                  what="3 ready replicas")
    assert rs["status"]["replicas"] == 3
    assert rs["status"]["availableReplicas"] == 3
    assert rs["status"]["fullyLabeledReplicas"] == 3
    assert rs["status"]["observedGeneration"] == rs["metadata"]["generation"]
    pods = active_pods(client, ns, "app=web")
    assert len(pods) == 3
    for pod in pods:
        ref = pod["metadata"]["ownerReferences"][0]
        assert ref["kind"] == "ReplicaSet" and ref["controller"] is True
        assert ref["blockOwnerDeletion"] is True
        assert pod["metadata"]["name"].startswith("web-")
    # A deleted pod is replaced.
    client.delete("v1", "Pod", pods[0]["metadata"]["name"], ns)
    wait_for(lambda: len(active_pods(client, ns, "app=web")) == 3 and
             pods[0]["metadata"]["name"] not in
             [p["metadata"]["name"] for p in active_pods(client, ns, "app=web")],
             what="a replacement pod")


def test_scale_down_deletes_unscheduled_and_unready_pods_first(client, kubelet, ns):
    kubelet.add_node(f"{kubelet.prefix}0")
    client.create(replica_set("ranked", 3), ns)
    wait_for(lambda: client.get("apps/v1", "ReplicaSet", "ranked", ns)
             .get("status", {}).get("readyReplicas") == 3, what="3 ready")
    pods = active_pods(client, ns, "app=ranked")
    unready = pods[1]["metadata"]["name"]
    kubelet.set_ready(ns, unready, False)
    wait_for(lambda: client.get("apps/v1", "ReplicaSet", "ranked", ns)
             .get("status", {}).get("readyReplicas") == 2, what="one pod unready")
    client.scale("apps/v1", "ReplicaSet", "ranked", 2, ns)
    wait_for(lambda: len(active_pods(client, ns, "app=ranked")) == 2, what="scale to 2")
    left = [p["metadata"]["name"] for p in active_pods(client, ns, "app=ranked")]
    assert unready not in left


def test_orphans_are_adopted_and_non_matching_pods_released(client, kubelet, ns):
    kubelet.add_node(f"{kubelet.prefix}0")
    orphan = {"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "orphan", "labels": {"app": "adopt"}},
              "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}}
    client.create(orphan, ns)
    client.create(replica_set("adopt", 2), ns)
    wait_for(lambda: (client.get("v1", "Pod", "orphan", ns)["metadata"]
                      .get("ownerReferences") or [{}])[0].get("name") == "adopt",
             what="the orphan adopted")
    wait_for(lambda: len(active_pods(client, ns, "app=adopt")) == 2, what="2 pods in all")
    # Relabel one: it is released and replaced.
    client.patch("v1", "Pod", "orphan", {"metadata": {"labels": {"app": "other"}}}, ns)
    wait_for(lambda: not client.get("v1", "Pod", "orphan", ns)["metadata"]
             .get("ownerReferences"), what="the relabelled pod released")
    wait_for(lambda: len(active_pods(client, ns, "app=adopt")) == 2, what="a replacement")


def test_burst_of_creations_never_overshoots(client, kubelet, ns):
    """Expectations: while its creations are in flight the controller creates no more,
    however often it is woken (every created pod wakes it)."""
    kubelet.add_node(f"{kubelet.prefix}0", pods="200")
    listing = client.list("v1", "Pod", ns)
    watch = client.watch("v1", "Pod", ns, resource_version=listing["metadata"]
                         ["resourceVersion"])
    created = set()

    def follow():
        for event in watch:
            if event.type == "ADDED":
                created.add(event.object["metadata"]["name"])
    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        client.create(replica_set("burst", 40), ns)
        wait_for(lambda: client.get("apps/v1", "ReplicaSet", "burst", ns)
                 .get("status", {}).get("readyReplicas") == 40, timeout=90, what="40 ready")
        client.scale("apps/v1", "ReplicaSet", "burst", 60, ns)
        wait_for(lambda: client.get("apps/v1", "ReplicaSet", "burst", ns)
                 .get("status", {}).get("readyReplicas") == 60, timeout=90, what="60 ready")
    finally:
        watch.stop()
        thread.join(5)
    assert len(created) == 60


def test_failing_creations_show_a_replica_failure_condition():
    from supernetes.controlplane.controllers.replicaset import ReplicaSetController
    rs = {"metadata": {"generation": 2}, "spec": {"replicas": 3},
          "status": {"replicas": 1}}
    status = ReplicaSetController.calculate_status(None, rs, [], RuntimeError("quota"), -3)
    [cond] = status["conditions"]
    assert (cond["type"], cond["status"], cond["reason"]) == ("ReplicaFailure", "True",
                                                              "FailedCreate")
    assert cond["message"] == "quota" and status["observedGeneration"] == 2
    rs["status"] = status
    healed = ReplicaSetController.calculate_status(None, rs, [], None, 0)
    assert "conditions" not in healed
