"""Deletion propagation through ownerReferences, against a real API server: deleting a
Deployment in the background or the foreground removes its ReplicaSets and pods;
orphaning leaves them, without the reference."""

from __future__ import annotations

import threading

import pytest
from hollow import holds, wait_for
from test_deployment import complete, deployment

from supernetes.controlplane.client import ClientError, NotFound

pytestmark = pytest.mark.slow


def names(client, api_version, kind, ns, selector):
    return sorted(o["metadata"]["name"] for o in
                  client.list(api_version, kind, ns, label_selector=selector)["items"])


def gone(client, api_version, kind, name, ns):
    try:
        client.get(api_version, kind, name, ns)
        return False
    except NotFound:
        return True


@pytest.fixture
def web(client, kubelet, ns):
    kubelet.add_node(f"{kubelet.prefix}0")
    kubelet.add_node(f"{kubelet.prefix}1")
    client.create(deployment("web", 3), ns)
    wait_for(lambda: complete(client, ns, "web"), timeout=60, what="3 replicas")
    return ns


def test_background_deletion_removes_replica_sets_and_pods(client, web):
    ns = web
    client.delete("apps/v1", "Deployment", "web", ns, propagation_policy="Background")
    assert gone(client, "apps/v1", "Deployment", "web", ns)     # the owner goes first
    wait_for(lambda: not names(client, "apps/v1", "ReplicaSet", ns, "app=web"),
             what="the ReplicaSet collected")
    wait_for(lambda: not names(client, "v1", "Pod", ns, "app=web"), what="the pods collected")


def test_foreground_deletion_removes_dependents_before_the_owner(client, web):
    ns = web
    order = []
    watch = client.watch("v1", "Pod", ns, label_selector="app=web")
    dwatch = client.watch("apps/v1", "Deployment", ns)

    def follow(w, kind):
        try:
            for event in w:
                if event.type == "DELETED":
                    order.append(kind)
        except ClientError:
            pass
    threads = [threading.Thread(target=follow, args=(watch, "pod"), daemon=True),
               threading.Thread(target=follow, args=(dwatch, "deployment"), daemon=True)]
    for thread in threads:
        thread.start()
    try:
        deleted = client.delete("apps/v1", "Deployment", "web", ns,
                                propagation_policy="Foreground")
        assert "foregroundDeletion" in deleted["metadata"]["finalizers"]
        assert deleted["metadata"]["deletionTimestamp"]
        wait_for(lambda: gone(client, "apps/v1", "Deployment", "web", ns), timeout=60,
                 what="the Deployment removed once its dependents went")
        assert not names(client, "apps/v1", "ReplicaSet", ns, "app=web")
        assert not names(client, "v1", "Pod", ns, "app=web")
        wait_for(lambda: "deployment" in order, what="the Deployment's DELETED event")
    finally:
        watch.stop()
        dwatch.stop()
    assert order.count("pod") == 3
    assert order.index("deployment") > max(i for i, k in enumerate(order) if k == "pod")


def test_orphan_deletion_leaves_dependents_without_the_reference(client, web):
    ns = web
    before_rs = names(client, "apps/v1", "ReplicaSet", ns, "app=web")
    before_pods = names(client, "v1", "Pod", ns, "app=web")
    client.delete("apps/v1", "Deployment", "web", ns, propagation_policy="Orphan")
    wait_for(lambda: gone(client, "apps/v1", "Deployment", "web", ns), timeout=30,
             what="the Deployment removed after orphaning")
    [rs] = client.list("apps/v1", "ReplicaSet", ns, label_selector="app=web")["items"]
    assert [rs["metadata"]["name"]] == before_rs
    assert not rs["metadata"].get("ownerReferences")
    assert names(client, "v1", "Pod", ns, "app=web") == before_pods
    # The ReplicaSet lives on, and its pods still belong to it.
    for pod in client.list("v1", "Pod", ns, label_selector="app=web")["items"]:
        assert pod["metadata"]["ownerReferences"][0]["name"] == before_rs[0]


def test_dependent_of_an_owner_that_never_existed_is_collected(client, kubelet, ns):
    ghost = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "ghost-child", "ownerReferences": [{
                 "apiVersion": "v1", "kind": "ConfigMap", "name": "no-such-owner",
                 "uid": "00000000-0000-0000-0000-000000000001"}]},
             "data": {"a": "b"}}
    client.create(ghost, ns)
    wait_for(lambda: gone(client, "v1", "ConfigMap", "ghost-child", ns), timeout=30,
             what="the dangling dependent collected")


def test_dependent_with_a_live_owner_stays(client, kubelet, ns):
    owner = client.create({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "owner"}, "data": {}}, ns)
    client.create({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "child", "ownerReferences": [{
                       "apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                       "uid": owner["metadata"]["uid"]}]}, "data": {}}, ns)
    holds(lambda: not gone(client, "v1", "ConfigMap", "child", ns), 3.0,
          what="the child of a live owner")
    client.delete("v1", "ConfigMap", "owner", ns)
    wait_for(lambda: gone(client, "v1", "ConfigMap", "child", ns), timeout=30,
             what="the child collected with its owner")
