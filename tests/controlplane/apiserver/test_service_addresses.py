"""Service ClusterIPs and NodePorts, allocated by the real API server (SQLite and etcd).

The session's server is shared by many tests, so these tests take addresses
the server hands out (or random ones) rather than fixed ones, and check
conflicts against values they know are theirs.
"""

from __future__ import annotations

import ipaddress
import random
import time

import pytest
from apiserverkit import ApiServer

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")


def services(ns: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/services" + (f"/{name}" if name else "")


def service(name: str, kind: str = "ClusterIP", cluster_ip: str | None = None,
            node_port: int | None = None, ports=None) -> dict:
    port = {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}
    if node_port is not None:
        port["nodePort"] = node_port
    spec = {"type": kind, "ports": ports or [port]}
    if cluster_ip is not None:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def create(api, ns, body) -> dict:
    response = api.post(services(ns), body)
    assert response.status_code == 201, response.text
    return response.json()


def refused(api, ns, body) -> dict:
    response = api.post(services(ns), body)
    assert response.status_code == 422, response.text
    status = response.json()
    assert status["kind"] == "Status" and status["reason"] == "Invalid"
    return status


def random_ip() -> str:
    """An address in the service CIDR's upper part, unlikely to be anyone else's."""
    offset = random.randrange(1 << 16, SERVICE_CIDR.num_addresses - 1)
    return str(SERVICE_CIDR.network_address + offset)


def test_a_service_without_cluster_ip_gets_one_from_the_service_cidr(api, ns):
    svc = create(api, ns, service("web"))
    ip = ipaddress.ip_address(svc["spec"]["clusterIP"])
    assert ip in SERVICE_CIDR
    assert svc["spec"]["clusterIPs"] == [str(ip)]
    # Dynamic picks leave the bottom 256 addresses (10.96.0.10, ...) to requests.
    assert int(ip) - int(SERVICE_CIDR.network_address) > 256
    again = api.get(services(ns, "web")).json()
    assert again["spec"]["clusterIP"] == str(ip)


def test_many_services_get_distinct_addresses(api, ns):
    ips = [create(api, ns, service(f"s{i}"))["spec"]["clusterIP"] for i in range(20)]
    assert len(set(ips)) == 20


def test_a_requested_cluster_ip_is_honoured_and_a_second_claim_is_refused(api, ns):
    wanted = random_ip()
    assert create(api, ns, service("first", cluster_ip=wanted))["spec"]["clusterIP"] == wanted
    status = refused(api, ns, service("second", cluster_ip=wanted))
    assert status["message"] == (
        f'Service "second" is invalid: spec.clusterIPs: Invalid value: []{{"{wanted}"}}: '
        f"failed to allocate IP {wanted}: provided IP is already allocated")
    assert status["details"]["causes"][0]["field"] == "spec.clusterIPs"


def test_a_cluster_ip_outside_the_range_is_refused(api, ns):
    status = refused(api, ns, service("outside", cluster_ip="10.0.0.10"))
    assert "spec.clusterIPs" in status["message"]
    assert ("provided IP is not in the valid range. The range of valid IPs is "
            "10.96.0.0/12") in status["message"]
    assert api.get(services(ns, "outside")).status_code == 404


def test_deleting_a_service_frees_its_address(api, ns):
    ip = create(api, ns, service("old"))["spec"]["clusterIP"]
    refused(api, ns, service("new", cluster_ip=ip))
    assert api.delete(services(ns, "old")).status_code == 200
    assert create(api, ns, service("new", cluster_ip=ip))["spec"]["clusterIP"] == ip


def test_a_failed_create_gives_its_address_back(api, ns):
    create(api, ns, service("taken"))
    wanted = random_ip()
    response = api.post(services(ns), service("taken", cluster_ip=wanted))
    assert response.status_code == 409                       # the name exists
    assert create(api, ns, service("other", cluster_ip=wanted))["spec"]["clusterIP"] == wanted


def test_a_dry_run_reserves_nothing(api, ns):
    wanted = random_ip()
    response = api.post(services(ns), service("dry", cluster_ip=wanted),
                        params={"dryRun": "All"})
    assert response.status_code == 201, response.text
    assert create(api, ns, service("real", cluster_ip=wanted))["spec"]["clusterIP"] == wanted
    response = api.post(services(ns), service("dry2", cluster_ip=wanted),
                        params={"dryRun": "All"})
    assert response.status_code == 422                       # but it does check


def test_headless_and_external_name_services_get_no_address(api, ns):
    headless = create(api, ns, service("headless", cluster_ip="None"))
    assert headless["spec"]["clusterIP"] == "None"
    external = create(api, ns, {"apiVersion": "v1", "kind": "Service",
                                "metadata": {"name": "ext"},
                                "spec": {"type": "ExternalName",
                                         "externalName": "example.org"}})
    assert not external["spec"].get("clusterIP")


def test_turning_an_external_name_service_into_cluster_ip_allocates_and_back_frees(api, ns):
    create(api, ns, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "flip"},
                     "spec": {"type": "ExternalName", "externalName": "example.org"}})
    response = api.patch(services(ns, "flip"), {"spec": {
        "type": "ClusterIP", "externalName": None,
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})
    assert response.status_code == 200, response.text
    ip = response.json()["spec"]["clusterIP"]
    assert ipaddress.ip_address(ip) in SERVICE_CIDR
    refused(api, ns, service("thief", cluster_ip=ip))
    response = api.patch(services(ns, "flip"), {"spec": {
        "type": "ExternalName", "externalName": "example.org", "clusterIP": None,
        "clusterIPs": None, "ports": None}})
    assert response.status_code == 200, response.text
    assert create(api, ns, service("thief", cluster_ip=ip))["spec"]["clusterIP"] == ip


def test_node_ports_are_allocated_from_their_range_and_conflicts_refused(api, ns):
    svc = create(api, ns, service("np", kind="NodePort"))
    port = svc["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    status = refused(api, ns, service("np2", kind="NodePort", node_port=port))
    assert status["message"] == (f'Service "np2" is invalid: spec.ports[0].nodePort: Invalid '
                                 f"value: {port}: provided port is already allocated")
    status = refused(api, ns, service("np3", kind="NodePort", node_port=8080))
    assert ("spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid "
            "range. The range of valid ports is 30000-32767") in status["message"]


def test_a_load_balancer_service_gets_node_ports_and_a_cluster_ip(api, ns):
    svc = create(api, ns, service("lb", kind="LoadBalancer"))
    assert 30000 <= svc["spec"]["ports"][0]["nodePort"] <= 32767
    assert ipaddress.ip_address(svc["spec"]["clusterIP"]) in SERVICE_CIDR


def test_two_ports_differing_only_in_protocol_share_one_node_port(api, ns):
    ports = [{"name": "dns", "port": 53, "protocol": "UDP"},
             {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]
    svc = create(api, ns, service("dns", kind="NodePort", ports=ports))
    udp, tcp = (p["nodePort"] for p in svc["spec"]["ports"])
    assert udp == tcp


def test_dropping_node_port_type_frees_the_port(api, ns):
    port = create(api, ns, service("np", kind="NodePort"))["spec"]["ports"][0]["nodePort"]
    response = api.patch(services(ns, "np"), {"spec": {
        "type": "ClusterIP", "externalTrafficPolicy": None,
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080,
                   "nodePort": None}]}}, content_type="application/merge-patch+json")
    assert response.status_code == 200, response.text
    assert "nodePort" not in response.json()["spec"]["ports"][0]
    svc = create(api, ns, service("np2", kind="NodePort", node_port=port))
    assert svc["spec"]["ports"][0]["nodePort"] == port


def test_deleting_a_namespace_frees_the_addresses_of_its_services(api):
    name = f"t-gone-{random.randrange(1 << 30):x}"
    assert api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": name}}).status_code == 201
    ip = create(api, name, service("web"))["spec"]["clusterIP"]
    api.delete(f"/api/v1/namespaces/{name}")
    deadline = time.monotonic() + 20
    other = f"t-next-{random.randrange(1 << 30):x}"
    assert api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": other}}).status_code == 201
    try:
        while True:
            response = api.post(services(other), service("web", cluster_ip=ip))
            if response.status_code == 201:
                break
            assert response.status_code == 422, response.text
            assert time.monotonic() < deadline, "the address was never freed"
            time.sleep(0.2)
    finally:
        api.delete(f"/api/v1/namespaces/{other}")


def test_the_kubernetes_service_holds_the_first_address(api):
    svc = api.get(services("default", "kubernetes")).json()
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    assert svc["spec"]["ports"][0]["port"] == 443
    assert svc["spec"]["ports"][0]["name"] == "https"
    assert svc["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    slice_ = api.get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/"
                     "kubernetes").json()
    assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "kubernetes"
    assert slice_["ports"][0]["port"] == int(api.url.rsplit(":", 1)[1])
    # Bound to loopback, the server publishes no endpoint a pod could not use.
    assert slice_["endpoints"] == []


@pytest.fixture
def own_server(tmp_path):
    server = ApiServer(tmp_path / "data", extra_args=[
        "--service-cidr", "10.100.0.0/24", "--service-node-port-range", "31000-31099",
        # Clients use the first advertised address; the endpoint the first that is not
        # loopback (a documentation address: nothing is ever sent to it).
        "--advertise-address", "127.0.0.1", "--advertise-address", "192.0.2.7"])
    server.start()
    yield server
    server.stop()


def test_ranges_are_configurable_and_allocations_survive_a_restart(own_server):
    api = own_server.admin
    kubernetes = api.get(services("default", "kubernetes")).json()
    assert kubernetes["spec"]["clusterIP"] == "10.100.0.1"
    endpoints = api.get("/api/v1/namespaces/default/endpoints/kubernetes").json()
    port = int(own_server.url.rsplit(":", 1)[1])
    assert endpoints["subsets"] == [{"addresses": [{"ip": "192.0.2.7"}],
                                     "ports": [{"name": "https", "port": port,
                                                "protocol": "TCP"}]}]
    svc = create(api, "default", service("kept", kind="NodePort"))
    ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.100.0.0/24")
    assert 31000 <= node_port <= 31099
    refused(api, "default", service("outside", cluster_ip="10.96.0.50"))

    own_server.stop()
    own_server.start()
    api = own_server.admin
    assert refused(api, "default", service("thief", cluster_ip=ip))
    assert refused(api, "default", service("thief", kind="NodePort", node_port=node_port))
    assert api.delete(services("default", "kept")).status_code == 200
    assert create(api, "default", service("thief", cluster_ip=ip))["spec"]["clusterIP"] == ip
