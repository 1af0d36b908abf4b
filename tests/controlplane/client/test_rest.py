"""REST calls against a real API server: CRUD, subresources, errors carrying the Status."""

import socket
import threading

import pytest
from clientkit import configmap, pod

from supernetes.controlplane.client import (
    AlreadyExists,
    Client,
    Conflict,
    ConnectionFailed,
    Invalid,
    NotFound,
    RetryPolicy,
    Transport,
    Unauthorized,
    load_connection,
)
from supernetes.controlplane.client.watch import ADDED, DELETED, MODIFIED


def test_create_get_list_replace_patch_delete_round_trip(client, ns):
    cms = client.resource("v1", "ConfigMap")
    created = cms.create(configmap("a", x="1"), ns)
    assert created["metadata"]["uid"] and created["metadata"]["namespace"] == ns
    assert cms.get("a", ns)["data"] == {"x": "1"}
    cms.create({**configmap("b"), "metadata": {"name": "b", "labels": {"app": "other"}}}, ns)
    names = [i["metadata"]["name"] for i in cms.list(ns, label_selector="app=test")["items"]]
    assert names == ["a"]
    current = cms.get("a", ns)
    current["data"]["x"] = "2"
    assert cms.replace(current)["data"] == {"x": "2"}
    assert cms.patch("a", {"data": {"y": "3"}}, ns, patch_type="merge")["data"] == \
        {"x": "2", "y": "3"}
    assert cms.patch("a", [{"op": "remove", "path": "/data/x"}], ns,
                     patch_type="json")["data"] == {"y": "3"}
    cms.delete("a", ns)
    with pytest.raises(NotFound):
        cms.get("a", ns)


def test_strategic_merge_patch_merges_containers_by_name(client, ns):
    pods = client.resource("v1", "Pod")
    p = pod("p")
    p["spec"]["containers"].append({"name": "side", "image": "busybox"})
    pods.create(p, ns)
    patched = pods.patch("p", {"spec": {"containers": [{"name": "side", "image": "alpine"}]}},
                         ns, patch_type="strategic")
    images = {c["name"]: c["image"] for c in patched["spec"]["containers"]}
    assert images == {"main": "busybox", "side": "alpine"}


def test_a_stale_update_is_a_conflict_carrying_the_status(client, ns):
    cms = client.resource("v1", "ConfigMap")
    first = cms.create(configmap("c", v="1"), ns)
    cms.patch("c", {"data": {"v": "2"}}, ns, patch_type="merge")
    with pytest.raises(Conflict) as info:
        cms.replace(first)
    assert info.value.code == 409 and info.value.reason == "Conflict"
    assert info.value.status["kind"] == "Status"


def test_not_found_and_already_exists_are_the_servers_words(client, ns):
    with pytest.raises(NotFound) as info:
        client.get("v1", "Pod", "missing", ns)
    assert (info.value.code, info.value.reason) == (404, "NotFound")
    assert info.value.message == 'pods "missing" not found'
    client.create(configmap("dup"), ns)
    with pytest.raises(AlreadyExists) as info:
        client.create(configmap("dup"), ns)
    assert info.value.message == 'configmaps "dup" already exists'


def test_an_invalid_object_is_invalid_with_the_field_named(client, ns):
    bad = pod("bad")
    del bad["spec"]["containers"][0]["image"]
    with pytest.raises(Invalid) as info:
        client.create(bad, ns)
    assert info.value.code == 422
    causes = info.value.details["causes"]
    assert any(c["field"] == "spec.containers[0].image" for c in causes)


def test_status_and_scale_subresources(client, ns):
    deploys = client.resource("apps/v1", "Deployment")
    deploys.create({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "d"},
                    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                             "template": {"metadata": {"labels": {"app": "d"}},
                                          "spec": {"containers": [{"name": "c",
                                                                   "image": "nginx"}]}}}}, ns)
    client.scale("apps/v1", "Deployment", "d", 4, ns)
    assert deploys.get("d", ns, subresource="scale")["spec"]["replicas"] == 4
    current = deploys.get("d", ns)
    current["status"] = {"replicas": 4, "observedGeneration": 2}
    client.replace_status(current)
    assert deploys.get("d", ns)["status"]["replicas"] == 4


def test_bind_assigns_a_pod_to_a_node(client, ns):
    client.create(pod("unbound"), ns)
    client.bind("unbound", ns, "node-7")
    assert client.get("v1", "Pod", "unbound", ns)["spec"]["nodeName"] == "node-7"


def test_list_all_pages_through_a_collection_as_one_snapshot(client, ns):
    cms = client.resource("v1", "ConfigMap")
    for i in range(23):
        cms.create(configmap(f"cm-{i:02d}"), ns)
    whole = cms.list_all(ns, page_size=5, label_selector="app=test")
    assert [i["metadata"]["name"] for i in whole["items"]] == [f"cm-{i:02d}" for i in range(23)]
    assert "continue" not in whole["metadata"] and whole["metadata"]["resourceVersion"]


def test_delete_collection_by_label(client, ns):
    cms = client.resource("v1", "ConfigMap")
    for name in ("x1", "x2"):
        cms.create(configmap(name), ns)
    cms.delete_collection(ns, label_selector="app=test")
    assert cms.list(ns)["items"] == []


def test_watch_sees_adds_updates_and_deletes_in_order(client, ns):
    cms = client.resource("v1", "ConfigMap")
    start = cms.list(ns)["metadata"]["resourceVersion"]
    cms.create(configmap("w", v="1"), ns)
    cms.patch("w", {"data": {"v": "2"}}, ns, patch_type="merge")
    cms.delete("w", ns)
    seen = []
    with cms.watch(ns, resource_version=start, timeout_seconds=10) as watch:
        for event in watch:
            seen.append((event.type, event.object["metadata"]["name"]))
            if event.type == DELETED:
                break
    assert seen == [(ADDED, "w"), (MODIFIED, "w"), (DELETED, "w")]


def test_a_watch_can_be_stopped_from_another_thread(client, ns):
    watch = client.resource("v1", "ConfigMap").watch(ns, timeout_seconds=60)
    ended = threading.Event()

    def consume():
        for _ in watch:
            pass
        ended.set()

    thread = threading.Thread(target=consume)
    thread.start()
    watch.stop()
    thread.join(5)
    assert ended.is_set()


def test_keep_alive_reuses_one_connection(client, ns):
    for _ in range(30):
        client.get("v1", "Namespace", ns)
    assert client.transport._pool.num_connections == 1


def test_a_server_that_is_not_there_is_named_in_the_error(server):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conn = load_connection(str(server.kubeconfig))
    conn.server = f"https://127.0.0.1:{port}"
    transport = Transport(conn, retry=RetryPolicy(attempts=2, backoff=0.01))
    with pytest.raises(ConnectionFailed) as info:
        Client(transport).version()
    assert info.value.refused
    assert f"127.0.0.1:{port}" in str(info.value)


def test_a_server_with_a_certificate_we_do_not_trust_fails_tls(server, tmp_path):
    conn = load_connection(str(server.kubeconfig))
    conn.ca_data = None          # the system's CAs do not know the cluster CA
    with pytest.raises(ConnectionFailed) as info:
        Client(Transport(conn)).version()
    assert "TLS" in str(info.value) and "certificate verify failed" in str(info.value)


def test_a_bad_token_is_unauthorized(server):
    conn = load_connection(str(server.kubeconfig))
    conn.token = "not-a-token"
    with pytest.raises(Unauthorized) as info:
        Client(Transport(conn)).list("v1", "Pod", "default")
    assert info.value.code == 401


def test_insecure_skip_verify_connects_without_the_ca(server):
    conn = load_connection(str(server.kubeconfig))
    conn.ca_data, conn.insecure = None, True
    assert Client(Transport(conn)).version()["gitVersion"]
