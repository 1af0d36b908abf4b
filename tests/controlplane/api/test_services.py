"""Services and endpoints: Kubernetes' defaults, validation, allocation helpers, tables."""

import copy

import pytest

from supernetes.controlplane.api import registry
from supernetes.controlplane.api.types import services as svc_types
from supernetes.controlplane.api.types.endpoints import format_endpoints

SERVICES = registry.lookup("", "v1", "services")


def messages(errs):
    return [e.message() for e in errs]


def service(**spec):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}}


def test_defaults():
    svc = service()
    SERVICES.default(svc)
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["sessionAffinity"] == "None"
    assert svc["spec"]["internalTrafficPolicy"] == "Cluster"
    assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert "externalTrafficPolicy" not in svc["spec"]


def test_node_port_and_client_ip_defaults():
    svc = service(type="LoadBalancer", sessionAffinity="ClientIP")
    SERVICES.default(svc)
    spec = svc["spec"]
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert spec["allocateLoadBalancerNodePorts"] is True
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_named_target_port_is_kept():
    svc = service(ports=[{"port": 80, "targetPort": "http"}])
    SERVICES.default(svc)
    assert svc["spec"]["ports"][0]["targetPort"] == "http"


def test_validation_rules():
    svc = service(type="Magic", ports=[{"port": 80}, {"port": 70000, "protocol": "ICMP",
                                                      "nodePort": 30000}])
    svc["metadata"]["name"] = "1web"
    SERVICES.default(svc)
    found = messages(SERVICES.validate(svc))
    assert any(m.startswith('metadata.name: Invalid value: "1web": a DNS-1035 label')
               for m in found)
    assert ('spec.type: Unsupported value: "Magic": supported values: "ClusterIP", '
            '"ExternalName", "LoadBalancer", "NodePort"') in found
    assert "spec.ports[0].name: Required value" in found
    assert ("spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, "
            "inclusive") in found
    assert ("spec.ports[1].nodePort: Forbidden: may not be used when `type` is 'Magic'"
            in found)


def test_ports_required_unless_headless_or_external_name():
    svc = service(ports=[])
    SERVICES.default(svc)
    assert "spec.ports: Required value" in messages(SERVICES.validate(svc))
    headless = service(ports=[], clusterIP="None")
    SERVICES.default(headless)
    assert SERVICES.validate(headless) == []
    external = service(type="ExternalName", externalName="db.example.com", ports=[])
    SERVICES.default(external)
    assert SERVICES.validate(external) == []
    missing = service(type="ExternalName", ports=[])
    SERVICES.default(missing)
    assert "spec.externalName: Required value" in messages(SERVICES.validate(missing))


def test_cluster_ip_is_immutable_and_carried_over():
    old = service()
    SERVICES.default(old)
    svc_types.set_cluster_ip(old, "10.96.0.10")
    assert old["spec"]["clusterIPs"] == ["10.96.0.10"]
    assert old["spec"]["ipFamilies"] == ["IPv4"]
    changed = copy.deepcopy(old)
    changed["spec"]["clusterIP"] = "10.96.0.11"
    changed["spec"]["clusterIPs"] = ["10.96.0.11"]
    assert messages(SERVICES.validate(changed, old)) == [
        'spec.clusterIP: Invalid value: "10.96.0.11": field is immutable']
    omitted = service()
    SERVICES.default(omitted)
    SERVICES.prepare_for_update(omitted, old)
    assert omitted["spec"]["clusterIP"] == "10.96.0.10"
    assert SERVICES.validate(omitted, old) == []


def test_allocation_needs():
    svc = service(type="NodePort", ports=[{"port": 80, "nodePort": 30080}, {"port": 81}])
    SERVICES.default(svc)
    assert svc_types.allocation_needs(svc) == (True, [1])
    svc_types.set_cluster_ip(svc, "10.96.0.5")
    assert svc_types.allocation_needs(svc) == (False, [1])
    external = service(type="ExternalName", externalName="x.example.com")
    assert svc_types.allocation_needs(external) == (False, [])


def test_node_ports_carried_over_on_update():
    old = service(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    SERVICES.default(old)
    svc_types.set_cluster_ip(old, "10.96.0.5")
    new = service(type="NodePort")
    SERVICES.default(new)
    SERVICES.prepare_for_update(new, old)
    assert new["spec"]["ports"][0]["nodePort"] == 30080


@pytest.mark.parametrize("spec,cells", [
    ({"clusterIP": "10.96.0.1", "ports": [{"port": 443, "protocol": "TCP"}]},
     ["ClusterIP", "10.96.0.1", "<none>", "443/TCP"]),
    ({"type": "NodePort", "clusterIP": "10.96.0.2",
      "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                {"port": 53, "nodePort": 30053, "protocol": "UDP"}]},
     ["NodePort", "10.96.0.2", "<none>", "80:30080/TCP,53:30053/UDP"]),
    ({"type": "LoadBalancer", "clusterIP": "10.96.0.3", "ports": [{"port": 80}]},
     ["LoadBalancer", "10.96.0.3", "<pending>", "80/TCP"]),
    ({"type": "ExternalName", "externalName": "db.example.com"},
     ["ExternalName", "<none>", "db.example.com", "<none>"]),
    ({"clusterIP": "None", "ports": [{"port": 80}], "externalIPs": ["1.2.3.4"]},
     ["ClusterIP", "None", "1.2.3.4", "80/TCP"]),
])
def test_table_cells(spec, cells):
    svc = {"metadata": {"name": "s"}, "spec": spec}
    cols, rows = SERVICES.table([svc])
    assert [c["name"] for c in cols] == ["Name", "Type", "Cluster-IP", "External-IP",
                                         "Port(s)", "Age", "Selector"]
    assert rows[0][1:5] == cells


def test_endpoints_cell_truncates_like_kubectl():
    ep = {"subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 6)],
                       "ports": [{"port": 80}]}]}
    assert format_endpoints(ep) == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..."
    assert format_endpoints({}) == "<none>"


def test_endpoints_validation():
    endpoints = registry.lookup("", "v1", "endpoints")
    ep = {"metadata": {"name": "web", "namespace": "default"},
          "subsets": [{"addresses": [{"ip": "10.0.0.300"}], "ports": [{"port": 80},
                                                                     {"port": 81}]}]}
    endpoints.default(ep)
    assert ep["subsets"][0]["ports"][0]["protocol"] == "TCP"
    found = messages(endpoints.validate(ep))
    assert any(m.startswith('subsets[0].addresses[0].ip: Invalid value: "10.0.0.300"')
               for m in found)
    assert "subsets[0].ports[0].name: Required value" in found


def test_endpoint_slice_validation():
    slices = registry.lookup("discovery.k8s.io", "v1", "endpointslices")
    es = {"metadata": {"name": "s", "namespace": "default"}, "addressType": "IPv5",
          "endpoints": [{"addresses": []}], "ports": [{"port": 80}]}
    slices.default(es)
    assert es["ports"][0]["protocol"] == "TCP"
    found = messages(slices.validate(es))
    assert ('addressType: Unsupported value: "IPv5": supported values: "IPv4", "IPv6", '
            '"FQDN"') in found
    assert "endpoints[0].addresses: Required value: must contain at least 1 address" in found
