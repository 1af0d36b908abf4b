"""The built-in `supernetes` IngressClass, and what a node may do with Ingresses."""

from __future__ import annotations

CLASSES = "/apis/networking.k8s.io/v1/ingressclasses"


def join(apiserver, node: str):
    """A node's own credential, from the join endpoint (as `superlet run` gets it)."""
    response = apiserver.client("bootstrap").post("/supernetes/v1/join", {"nodeName": node})
    assert response.status_code == 201, response.text
    return apiserver.client(token=response.json()["token"])


def _ingress(name: str) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name},
            "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}


def test_the_server_creates_the_default_supernetes_class(api):
    response = api.get(f"{CLASSES}/supernetes")
    assert response.status_code == 200, response.text
    ic = response.json()
    assert ic["spec"]["controller"] == "supernetes.io/ingress-controller"
    assert ic["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == \
        "true"


def test_ingress_class_validation(api):
    bad = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
           "metadata": {"name": "bad-controller"}, "spec": {"controller": "no-domain"}}
    response = api.post(CLASSES, bad)
    assert response.status_code == 422
    assert "spec.controller" in response.json()["message"]
    good = dict(bad, metadata={"name": "other"}, spec={"controller": "example.com/lb"})
    assert api.post(CLASSES, good).status_code == 201
    changed = api.get(f"{CLASSES}/other").json()
    changed["spec"]["controller"] = "example.com/other"
    response = api.put(f"{CLASSES}/other", changed)
    assert response.status_code == 422 and "immutable" in response.json()["message"]
    assert api.delete(f"{CLASSES}/other").status_code == 200


def test_a_node_reads_ingresses_and_writes_only_their_status(apiserver, api, ns):
    node = join(apiserver, "node-ing1")
    path = f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses"
    assert api.post(path, _ingress("web")).status_code == 201
    assert node.get(path).status_code == 200
    assert node.get(CLASSES).status_code == 200
    assert node.post(path, _ingress("forged")).status_code == 403
    assert node.delete(f"{path}/web").status_code == 403
    status = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.4"}]}}}
    response = node.patch(f"{path}/web/status", status)
    assert response.status_code == 200, response.text
    assert response.json()["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.4"}]
    spec = {"spec": {"defaultBackend": {"service": {"name": "x", "port": {"number": 1}}}}}
    assert node.patch(f"{path}/web", spec).status_code == 403
    assert node.post(CLASSES, {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                               "metadata": {"name": "n"}, "spec": {}}).status_code == 403
