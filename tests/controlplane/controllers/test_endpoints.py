"""Endpoints and EndpointSlices follow the ready pods a Service selects, against a real API
server with hollow nodes: readiness moves addresses between ready and not ready, named
target ports resolve per pod, deleted pods and Services take their endpoints along."""

from __future__ import annotations

import pytest
from hollow import holds, wait_for

from supernetes.controlplane.client import NotFound

pytestmark = pytest.mark.slow


def pod(name: str, labels: dict, ports=None) -> dict:
    container = {"name": "web", "image": "nginx"}
    if ports:
        container["ports"] = ports
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [container]}}


def service(name: str, selector: dict, ports: list[dict]) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name,
                                                               "labels": {"tier": "front"}},
            "spec": {"selector": selector, "ports": ports}}


def endpoints(client, ns, name):
    try:
        return client.get("v1", "Endpoints", name, ns)
    except NotFound:
        return None


def addresses(client, ns, name):
    ep = endpoints(client, ns, name) or {}
    ready, not_ready = set(), set()
    for subset in ep.get("subsets") or ():
        ready |= {a["targetRef"]["name"] for a in subset.get("addresses") or ()}
        not_ready |= {a["targetRef"]["name"] for a in subset.get("notReadyAddresses") or ()}
    return ready, not_ready


def slices(client, ns, name):
    return client.list("discovery.k8s.io/v1", "EndpointSlice", ns,
                       label_selector=f"kubernetes.io/service-name={name}")["items"]


def slice_view(client, ns, name):
    view = {}
    for es in slices(client, ns, name):
        for ep in es.get("endpoints") or ():
            view[ep["targetRef"]["name"]] = (ep["conditions"].get("ready"),
                                             ep["conditions"].get("terminating", False))
    return view


def running(client, ns, names):
    return all((client.get("v1", "Pod", n, ns).get("status") or {}).get("podIP")
               for n in names)


def test_endpoints_follow_readiness(client, kubelet, ns):
    kubelet.add_node(f"{kubelet.prefix}0")
    for name in ("a", "b", "c"):
        client.create(pod(name, {"app": "web"}, [{"name": "http", "containerPort": 8080}]),
                      ns)
    client.create(pod("other", {"app": "db"}), ns)
    client.create(service("web", {"app": "web"}, [{"name": "http", "port": 80,
                                                   "targetPort": "http"}]), ns)
    wait_for(lambda: addresses(client, ns, "web") == ({"a", "b", "c"}, set()), timeout=30,
             what="three ready addresses")
    ep = endpoints(client, ns, "web")
    [subset] = ep["subsets"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert ep["metadata"]["labels"]["tier"] == "front"
    ips = {a["ip"] for a in subset["addresses"]}
    assert ips == {client.get("v1", "Pod", n, ns)["status"]["podIP"] for n in "abc"}
    assert all(a["nodeName"] == f"{kubelet.prefix}0" for a in subset["addresses"])

    kubelet.set_ready(ns, "b", False)
    wait_for(lambda: addresses(client, ns, "web") == ({"a", "c"}, {"b"}), timeout=30,
             what="b moved to notReadyAddresses")
    wait_for(lambda: slice_view(client, ns, "web").get("b") == (False, False), timeout=30,
             what="b not ready in its slice")
    kubelet.set_ready(ns, "b", True)
    wait_for(lambda: addresses(client, ns, "web") == ({"a", "b", "c"}, set()), timeout=30,
             what="b ready again")
    client.delete("v1", "Pod", "c", ns)
    wait_for(lambda: addresses(client, ns, "web") == ({"a", "b"}, set()), timeout=30,
             what="the deleted pod dropped")
    client.patch("v1", "Pod", "a", {"metadata": {"labels": {"app": "moved"}}}, ns)
    wait_for(lambda: addresses(client, ns, "web") == ({"b"}, set()), timeout=30,
             what="the relabelled pod dropped")

    client.delete("v1", "Service", "web", ns)
    wait_for(lambda: endpoints(client, ns, "web") is None and not slices(client, ns, "web"),
             timeout=30, what="the Endpoints and slices gone with the Service")


def test_endpoint_slices_are_managed_and_named_ports_resolve_per_pod(client, kubelet, ns):
    kubelet.add_node(f"{kubelet.prefix}0")
    client.create(pod("x", {"app": "api"}, [{"name": "grpc", "containerPort": 9000}]), ns)
    client.create(pod("y", {"app": "api"}, [{"name": "grpc", "containerPort": 9001}]), ns)
    client.create(pod("z", {"app": "api"}), ns)        # no such named port: no endpoint
    svc = client.create(service("api", {"app": "api"}, [{"name": "grpc", "port": 90,
                                                         "targetPort": "grpc"}]), ns)
    wait_for(lambda: running(client, ns, "xyz") and
             set(slice_view(client, ns, "api")) == {"x", "y"}, timeout=30,
             what="slices for x and y")
    found = slices(client, ns, "api")
    assert len(found) == 2                             # one per distinct resolved port
    for es in found:
        labels = es["metadata"]["labels"]
        assert labels["endpointslice.kubernetes.io/managed-by"] == \
            "endpointslice-controller.k8s.io"
        assert es["addressType"] == "IPv4"
        assert es["metadata"]["ownerReferences"][0]["uid"] == svc["metadata"]["uid"]
        [port] = es["ports"]
        [endpoint] = es["endpoints"]
        want = 9000 if endpoint["targetRef"]["name"] == "x" else 9001
        assert port == {"name": "grpc", "port": want, "protocol": "TCP"}
        assert endpoint["conditions"] == {"ready": True, "serving": True,
                                          "terminating": False}
    # The Endpoints object is another controller's: it may land a moment later.
    def endpoint_ports():
        subsets = (endpoints(client, ns, "api") or {}).get("subsets") or []
        return sorted(s["ports"][0]["port"] for s in subsets)
    wait_for(lambda: endpoint_ports() == [9000, 9001], timeout=10,
             what="Endpoints with both resolved ports")

    def versions():
        return (sorted(es["metadata"]["resourceVersion"] for es in slices(client, ns, "api")),
                endpoints(client, ns, "api")["metadata"]["resourceVersion"])
    settled = versions()
    holds(lambda: versions() == settled, 2.0, what="no rewrite of unchanged endpoints")


def test_service_without_selector_keeps_its_endpoints(client, kubelet, ns):
    client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
                   "spec": {"ports": [{"port": 443}]}}, ns)
    client.create({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext"},
                   "subsets": [{"addresses": [{"ip": "192.0.2.10"}],
                                "ports": [{"port": 443}]}]}, ns)
    client.patch("v1", "Service", "ext", {"metadata": {"labels": {"touched": "yes"}}}, ns)

    holds(lambda: endpoints(client, ns, "ext")["subsets"][0]["addresses"][0]["ip"] ==
          "192.0.2.10", 2.0, what="the user's Endpoints untouched")
