"""A node's credential reads what its service proxy and policy enforcer watch, no more."""

from __future__ import annotations

import uuid

WATCHED = ("/api/v1/services", "/api/v1/endpoints", "/api/v1/namespaces", "/api/v1/pods",
           "/apis/discovery.k8s.io/v1/endpointslices",
           "/apis/networking.k8s.io/v1/networkpolicies")


def join(apiserver, node: str):
    response = apiserver.client("bootstrap").post("/supernetes/v1/join", {"nodeName": node})
    assert response.status_code == 201, response.text
    return apiserver.client(token=response.json()["token"])


def test_a_node_lists_and_watches_services_endpoints_and_policies_but_writes_none(apiserver,
                                                                                  ns):
    node = join(apiserver, f"node-{uuid.uuid4().hex[:6]}")
    for path in WATCHED:
        assert node.get(path).status_code == 200, path
        watch = node.get(path, params={"watch": "true", "timeoutSeconds": "1"})
        assert watch.status_code == 200, path
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "deny"}, "spec": {"podSelector": {}}}
    refused = node.post(f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies", policy)
    assert refused.status_code == 403
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"ports": [{"port": 80}]}}
    assert node.post(f"/api/v1/namespaces/{ns}/services", service).status_code == 403
