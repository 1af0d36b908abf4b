"""Services and endpoints -> ServicePorts: what each port serves and through which endpoints."""

from __future__ import annotations

from proxykit import endpoint, endpoint_slice, service

from supernetes.agent.proxy import model


def test_a_cluster_ip_service_port_gets_its_endpoints_by_port_name():
    svc = service("web", "10.96.0.20", ports=[
        {"name": "http", "port": 80, "protocol": "TCP"},
        {"name": "metrics", "port": 9090, "protocol": "TCP"}])
    es = endpoint_slice("web", [endpoint("10.244.1.5"), endpoint("10.244.2.5", "node-b")],
                        ports=[{"name": "http", "port": 8080, "protocol": "TCP"},
                               {"name": "metrics", "port": 9100, "protocol": "TCP"}])
    http, metrics = model.service_ports(svc, [es])
    assert http.key == "default/web/tcp/http"
    assert (http.cluster_ip, http.port, http.node_port) == ("10.96.0.20", 80, 0)
    assert [(e.ip, e.port, e.node_name) for e in http.endpoints] == [
        ("10.244.1.5", 8080, "node-a"), ("10.244.2.5", 8080, "node-b")]
    assert {e.port for e in metrics.endpoints} == {9100}


def test_ready_endpoints_win_and_terminating_serving_ones_are_the_fallback():
    svc = service("web", "10.96.0.20")
    es = endpoint_slice("web", [
        endpoint("10.244.1.1"),                                   # ready
        endpoint("10.244.1.2", ready=None),                       # unset: ready
        endpoint("10.244.1.3", ready=False),                      # not ready
        endpoint("10.244.1.4", ready=False, serving=True, terminating=True)])
    (sp,) = model.service_ports(svc, [es])
    assert [e.ip for e in sp.usable()] == ["10.244.1.1", "10.244.1.2"]
    only_terminating = endpoint_slice("web", [
        endpoint("10.244.1.3", ready=False),
        endpoint("10.244.1.4", ready=False, serving=True, terminating=True)])
    (sp,) = model.service_ports(svc, [only_terminating])
    assert [e.ip for e in sp.usable()] == ["10.244.1.4"]


def test_usable_on_one_node_only_looks_at_that_node():
    svc = service("web", "10.96.0.20")
    es = endpoint_slice("web", [endpoint("10.244.1.1", "node-a"),
                                endpoint("10.244.2.1", "node-b")])
    (sp,) = model.service_ports(svc, [es])
    assert [e.ip for e in sp.usable("node-b")] == ["10.244.2.1"]
    assert sp.usable("node-c") == ()


def test_overlapping_slices_count_an_endpoint_once_and_protocols_do_not_mix():
    svc = service("dns", "10.96.0.10", ports=[
        {"name": "dns", "port": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP"}])
    ports = [{"name": "dns", "port": 53, "protocol": "UDP"},
             {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]
    a = endpoint_slice("dns", [endpoint("10.244.1.9")], ports=ports, name="dns-a")
    b = endpoint_slice("dns", [endpoint("10.244.1.9"), endpoint("10.244.1.8")], ports=ports,
                       name="dns-b")
    udp, tcp = model.service_ports(svc, [a, b])
    assert (udp.protocol, tcp.protocol) == ("UDP", "TCP")
    assert [e.ip for e in udp.endpoints] == ["10.244.1.8", "10.244.1.9"]


def test_headless_external_name_and_unknown_protocols_are_not_proxied():
    assert model.service_ports(service("h", "None"), []) == []
    assert model.service_ports({"metadata": {"name": "e", "namespace": "default"},
                                "spec": {"type": "ExternalName",
                                         "externalName": "example.org"}}, []) == []
    odd = service("odd", "10.96.0.30", ports=[{"port": 80, "protocol": "QUIC"}])
    assert model.service_ports(odd, []) == []


def test_node_port_external_ips_load_balancer_ingress_affinity_and_local_policy():
    svc = service("lb", "10.96.0.40", kind="LoadBalancer",
                  ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}],
                  externalIPs=["198.51.100.9", "2001:db8::1"], sessionAffinity="ClientIP",
                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}},
                  externalTrafficPolicy="Local")
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"},
                                                  {"hostname": "lb.example.org"}]}}
    (sp,) = model.service_ports(svc, [])
    assert sp.node_port == 30080
    assert sp.external_ips == ("198.51.100.9", "192.0.2.10")      # IPv4 only, hostnames not
    assert sp.affinity_timeout == 60
    assert sp.external_local is True
    assert sp.endpoints == ()


def test_a_service_without_slices_falls_back_to_its_endpoints_object():
    svc = service("legacy", "10.96.0.50")
    ep = {"metadata": {"name": "legacy", "namespace": "default"},
          "subsets": [{"addresses": [{"ip": "10.244.1.20", "nodeName": "node-a"}],
                       "notReadyAddresses": [{"ip": "10.244.1.21"}],
                       "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}
    (sp,) = model.service_ports(svc, [], ep)
    assert [(e.ip, e.ready) for e in sp.endpoints] == [("10.244.1.20", True),
                                                        ("10.244.1.21", False)]
    assert [e.ip for e in sp.usable()] == ["10.244.1.20"]


def test_a_slice_names_its_service_by_label():
    es = endpoint_slice("web", [], namespace="shop")
    assert model.slice_service(es) == "shop/web"
    es["metadata"]["labels"] = {}
    assert model.slice_service(es) is None
