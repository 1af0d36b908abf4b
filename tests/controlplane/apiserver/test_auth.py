"""Authentication and authorization: tokens, roles, NodeRestriction, the join endpoint."""

from __future__ import annotations

import requests
from apiserverkit import pod


def test_unauthenticated_requests_get_401_status(apiserver):
    anonymous = apiserver.client(token=None)
    response = anonymous.get("/api/v1/namespaces")
    assert response.status_code == 401
    assert response.json()["kind"] == "Status"
    assert response.json()["reason"] == "Unauthorized"
    wrong = apiserver.client(token="not-a-token")
    assert wrong.get("/api/v1/pods").status_code == 401


def test_health_and_version_are_public(apiserver):
    anonymous = apiserver.client(token=None)
    assert anonymous.get("/healthz").text == "ok"
    assert anonymous.get("/readyz").status_code == 200
    assert anonymous.get("/version").json()["major"] == "1"


def test_plain_http_is_refused(apiserver):
    plain = apiserver.url.replace("https://", "http://")
    try:
        response = requests.get(plain + "/healthz", timeout=5)
    except requests.RequestException:
        return                                  # the TLS server dropped the connection
    assert response.status_code == 400 or not response.ok


def test_viewer_reads_but_cannot_write_or_read_secrets(apiserver, ns):
    viewer = apiserver.client("viewer")
    assert viewer.get(f"/api/v1/namespaces/{ns}/pods").status_code == 200
    response = viewer.post(f"/api/v1/namespaces/{ns}/pods", pod("nope"))
    assert response.status_code == 403
    body = response.json()
    assert body["reason"] == "Forbidden"
    assert 'User "viewer" cannot create resource "pods"' in body["message"]
    assert viewer.get(f"/api/v1/namespaces/{ns}/secrets").status_code == 403


def test_bootstrap_token_only_joins(apiserver):
    bootstrap = apiserver.client("bootstrap")
    assert bootstrap.get("/api/v1/pods").status_code == 403
    response = bootstrap.post("/supernetes/v1/join", {"nodeName": "Bad_Name"})
    assert response.status_code == 422


def join(apiserver, node: str):
    response = apiserver.client("bootstrap").post("/supernetes/v1/join", {"nodeName": node})
    assert response.status_code == 201, response.text
    credential = response.json()
    assert credential["user"] == f"system:node:{node}"
    assert credential["caData"]
    return apiserver.client(token=credential["token"])


def node_object(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"capacity": {"cpu": "2", "pods": "110"}}}


def test_node_restriction(apiserver, ns):
    api = apiserver.admin
    node = join(apiserver, "node-r1")
    # its own Node: yes; another node's: no
    assert node.post("/api/v1/nodes", node_object("node-r1")).status_code == 201
    assert node.post("/api/v1/nodes", node_object("node-other")).status_code == 403
    assert node.get("/api/v1/nodes").status_code == 200
    # its own lease only
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "node-r1"}, "spec": {"holderIdentity": "node-r1"}}
    path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    assert node.post(path, lease).status_code == 201
    lease["metadata"]["name"] = "node-other"
    assert node.post(path, lease).status_code == 403
    # pods: read, but write only the status of pods bound to it
    for name, target in (("mine", "node-r1"), ("theirs", "node-x")):
        body = pod(name)
        body["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": f"cm-{name}"}}]
        assert api.post(f"/api/v1/namespaces/{ns}/pods", body).status_code == 201
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                   "target": {"kind": "Node", "name": target}}
        assert api.post(f"/api/v1/namespaces/{ns}/pods/{name}/binding",
                        binding).status_code == 201
    assert node.get(f"/api/v1/namespaces/{ns}/pods").status_code == 200
    assert node.post(f"/api/v1/namespaces/{ns}/pods", pod("forged")).status_code == 403
    mine = api.get(f"/api/v1/namespaces/{ns}/pods/mine").json()
    mine["status"]["phase"] = "Running"
    assert node.put(f"/api/v1/namespaces/{ns}/pods/mine/status", mine).status_code == 200
    theirs = api.get(f"/api/v1/namespaces/{ns}/pods/theirs").json()
    theirs["status"]["phase"] = "Running"
    assert node.put(f"/api/v1/namespaces/{ns}/pods/theirs/status", theirs).status_code == 403
    assert node.put(f"/api/v1/namespaces/{ns}/pods/mine", mine).status_code == 403
    # configmaps: only those its pods refer to
    for name in ("cm-mine", "cm-theirs"):
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
              "data": {"k": "v"}}
        assert api.post(f"/api/v1/namespaces/{ns}/configmaps", cm).status_code == 201
    assert node.get(f"/api/v1/namespaces/{ns}/configmaps/cm-mine").status_code == 200
    assert node.get(f"/api/v1/namespaces/{ns}/configmaps/cm-theirs").status_code == 403
    assert node.get(f"/api/v1/namespaces/{ns}/configmaps").status_code == 403
    # events: may create
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"},
             "involvedObject": {"kind": "Pod", "name": "mine", "namespace": ns},
             "reason": "Started", "message": "started", "type": "Normal"}
    assert node.post(f"/api/v1/namespaces/{ns}/events", event).status_code == 201
    # deleting: only its own pods
    assert node.delete(f"/api/v1/namespaces/{ns}/pods/theirs").status_code == 403
    assert node.delete(f"/api/v1/namespaces/{ns}/pods/mine",
                       {"gracePeriodSeconds": 0}).status_code == 200


def test_rejoin_replaces_the_node_token(apiserver):
    first = join(apiserver, "node-rejoin")
    assert first.get("/api/v1/nodes").status_code == 200
    second = join(apiserver, "node-rejoin")
    assert second.get("/api/v1/nodes").status_code == 200
    assert first.get("/api/v1/nodes").status_code == 401
