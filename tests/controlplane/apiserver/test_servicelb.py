"""LoadBalancer Services get the nodes' addresses, as with k3s's ServiceLB."""

from __future__ import annotations

import random
import time
import uuid

import pytest

from supernetes.controlplane.apiserver import servicelb


def node(name: str, ip: str, ready: bool = True, external: str | None = None,
         unschedulable: bool = False, labels=None) -> dict:
    addresses = [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]
    if external:
        addresses.append({"type": "ExternalIP", "address": external})
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"unschedulable": unschedulable},
            "status": {"addresses": addresses, "conditions": [
                {"type": "Ready", "status": "True" if ready else "False"}]}}


def lb(name: str, port: int, ns: str = "default", created: str = "2026-01-01T00:00:00Z",
       **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
            "spec": {"type": "LoadBalancer", "ports": [{"port": port, "protocol": "TCP"}],
                     **spec}}


def test_ready_schedulable_nodes_serve_with_their_external_address_first():
    nodes = [node("a", "10.0.0.2"), node("b", "10.0.0.3", external="203.0.113.3"),
             node("c", "10.0.0.4", ready=False), node("d", "10.0.0.5", unschedulable=True),
             node("e", "10.0.0.6", labels={servicelb.EXCLUDE_LABEL: ""})]
    assert servicelb.assign([lb("web", 80)], nodes) == {
        ("default", "web"): ["10.0.0.2", "203.0.113.3"]}


def test_the_older_service_keeps_a_port_and_classes_belong_to_others():
    nodes = [node("a", "10.0.0.2")]
    services = [lb("new", 80, created="2026-01-02T00:00:00Z"), lb("old", 80),
                lb("other-port", 443, created="2026-01-03T00:00:00Z"),
                lb("classy", 80, loadBalancerClass="example.org/lb")]
    assert servicelb.assign(services, nodes) == {
        ("default", "old"): ["10.0.0.2"], ("default", "new"): [],
        ("default", "other-port"): ["10.0.0.2"]}


@pytest.fixture
def nodes(api):
    made = []

    def make(body):
        response = api.post("/api/v1/nodes", body)
        assert response.status_code == 201, response.text
        made.append(body["metadata"]["name"])

    yield make
    for name in made:
        api.delete(f"/api/v1/nodes/{name}")


def ingress_of(api, ns, name, want, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        svc = api.get(f"/api/v1/namespaces/{ns}/services/{name}").json()
        ips = [i["ip"] for i in (svc["status"].get("loadBalancer") or {}).get("ingress") or []]
        if ips == want or time.monotonic() > deadline:
            return ips
        time.sleep(0.1)


def test_a_load_balancer_service_shows_the_nodes_and_follows_them(api, ns, nodes):
    suffix = uuid.uuid4().hex[:6]
    nodes(node(f"lb-a-{suffix}", "192.0.2.201"))
    nodes(node(f"lb-b-{suffix}", "192.0.2.202"))
    port = random.randrange(20000, 29000)
    body = lb("web", port, ns=ns)
    del body["metadata"]["creationTimestamp"]
    assert api.post(f"/api/v1/namespaces/{ns}/services", body).status_code == 201
    assert ingress_of(api, ns, "web", ["192.0.2.201", "192.0.2.202"]) == [
        "192.0.2.201", "192.0.2.202"]
    # A node that stops being Ready stops serving.
    response = api.patch(f"/api/v1/nodes/lb-b-{suffix}/status", {"status": {"conditions": [
        {"type": "Ready", "status": "False"}]}})
    assert response.status_code == 200, response.text
    assert ingress_of(api, ns, "web", ["192.0.2.201"]) == ["192.0.2.201"]
    # A second Service on the same port waits.
    second = lb("second", port, ns=ns)
    del second["metadata"]["creationTimestamp"]
    assert api.post(f"/api/v1/namespaces/{ns}/services", second).status_code == 201
    time.sleep(2.5)
    assert ingress_of(api, ns, "second", [], timeout=0) == []
    table = api.get(f"/api/v1/namespaces/{ns}/services", headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    cells = {row["cells"][0]: row["cells"][3] for row in table["rows"]}
    assert cells == {"web": "192.0.2.201", "second": "<pending>"}
