"""core/v1 Service and Endpoints.

Defaulting follows Kubernetes' SetDefaults_Service (type ClusterIP, sessionAffinity
None, protocol TCP, targetPort = port, internalTrafficPolicy Cluster, ...).
Addresses are allocated by the API server (it owns the service CIDR and the
node-port range): `allocation_needs` says what a service needs and
`set_cluster_ip` records an allocated address; `prepare_for_update` carries
allocated values over when a client omits them, as Kubernetes does, so a
`kubectl replace` without `clusterIP` keeps the address. `clusterIP` is
immutable once set (except for ExternalName services, which have none).
"""

from __future__ import annotations

import ipaddress

from .. import errors, tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import (
    BOOL,
    INT32,
    INT_OR_STRING,
    STRING,
    Field,
    ListOf,
    MapOf,
    Struct,
)
from .metav1 import CONDITION, top_level
from .podspec_validation import ip_address

CORE = "io.k8s.api.core.v1."
TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]

SERVICE_PORT = Struct(CORE + "ServicePort", "ServicePort contains information on service's "
                      "port.", {
    "name": Field(STRING, "The name of this port within the service. This must be a "
                  "DNS_LABEL. All ports within a ServiceSpec must have unique names."),
    "protocol": Field(STRING, "The IP protocol for this port. Supports \"TCP\", \"UDP\", and "
                      "\"SCTP\". Default is TCP.", default="TCP"),
    "appProtocol": Field(STRING, "The application protocol for this port."),
    "port": Field(INT32, "The port that will be exposed by this service.", required=True),
    "targetPort": Field(INT_OR_STRING, "Number or name of the port to access on the pods "
                        "targeted by the service. Defaults to the value of the 'port' "
                        "field."),
    "nodePort": Field(INT32, "The port on each node on which this service is exposed when "
                      "type is NodePort or LoadBalancer. Usually assigned by the system."),
})

LOAD_BALANCER_INGRESS = Struct(CORE + "LoadBalancerIngress", "LoadBalancerIngress represents "
                               "the status of a load-balancer ingress point.", {
    "ip": Field(STRING, "IP is set for load-balancer ingress points that are IP based"),
    "hostname": Field(STRING, "Hostname is set for load-balancer ingress points that are "
                      "DNS based"),
    "ipMode": Field(STRING, "IPMode specifies how the load-balancer IP behaves: VIP or "
                    "Proxy."),
    "ports": Field(ListOf(Struct(CORE + "PortStatus", "PortStatus represents the error "
                                 "condition of a service port", {
        "port": Field(INT32, "Port is the port number of the service port of which status "
                      "is recorded here", required=True),
        "protocol": Field(STRING, "Protocol is the protocol of the service port of which "
                          "status is recorded here", required=True),
        "error": Field(STRING, "Error is to record the problem with the service port"),
    }), list_type="atomic"), "Ports is a list of records of service ports."),
})

LOAD_BALANCER_STATUS = Struct(CORE + "LoadBalancerStatus", "LoadBalancerStatus represents "
                              "the status of a load-balancer.", {
    "ingress": Field(ListOf(LOAD_BALANCER_INGRESS, list_type="atomic"), "Ingress is a list "
                     "containing ingress points for the load-balancer."),
})

SERVICE_SPEC = Struct(CORE + "ServiceSpec", "ServiceSpec describes the attributes that a "
                      "user creates on a service.", {
    "ports": Field(ListOf(SERVICE_PORT, merge_key="port", strategy="merge", list_type="map",
                          map_keys=("port", "protocol")),
                   "The list of ports that are exposed by this service."),
    "selector": Field(MapOf(STRING), "Route service traffic to pods with label keys and "
                      "values matching this selector."),
    "clusterIP": Field(STRING, "clusterIP is the IP address of the service and is usually "
                       "assigned randomly. \"None\" makes a headless service."),
    "clusterIPs": Field(ListOf(STRING, list_type="atomic"), "ClusterIPs is a list of IP "
                        "addresses assigned to this service; the first equals clusterIP."),
    "type": Field(STRING, "type determines how the Service is exposed. Defaults to "
                  "ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and "
                  "LoadBalancer."),
    "externalIPs": Field(ListOf(STRING, list_type="atomic"), "externalIPs is a list of IP "
                         "addresses for which nodes in the cluster will also accept traffic "
                         "for this service."),
    "sessionAffinity": Field(STRING, "Supports \"ClientIP\" and \"None\". Used to maintain "
                             "session affinity. Defaults to None."),
    "loadBalancerIP": Field(STRING, "Deprecated: Only applies to Service Type: "
                            "LoadBalancer."),
    "loadBalancerSourceRanges": Field(ListOf(STRING, list_type="atomic"), "Restricts traffic "
                                      "through the cloud-provider load-balancer to these "
                                      "client IPs."),
    "externalName": Field(STRING, "externalName is the external reference that discovery "
                          "mechanisms will return as an alias for this service (a DNS "
                          "CNAME record). Requires type ExternalName."),
    "externalTrafficPolicy": Field(STRING, "How nodes distribute service traffic they "
                                   "receive on externally-facing addresses: Cluster or "
                                   "Local."),
    "healthCheckNodePort": Field(INT32, "healthCheckNodePort specifies the healthcheck "
                                 "nodePort for the service."),
    "publishNotReadyAddresses": Field(BOOL, "Indicates that any agent which deals with "
                                      "endpoints for this Service should disregard any "
                                      "indications of ready/not-ready."),
    "sessionAffinityConfig": Field(Struct(CORE + "SessionAffinityConfig", "SessionAffinity"
                                          "Config represents the configurations of session "
                                          "affinity.", {
        "clientIP": Field(Struct(CORE + "ClientIPConfig", "ClientIPConfig represents the "
                                 "configurations of Client IP based session affinity.", {
            "timeoutSeconds": Field(INT32, "the seconds of ClientIP type session sticky "
                                    "time, 0 < x <= 86400. Default 10800 (3 hours)."),
        }), "clientIP contains the configurations of Client IP based session affinity."),
    }), "sessionAffinityConfig contains the configurations of session affinity."),
    "ipFamilies": Field(ListOf(STRING, list_type="atomic"), "IPFamilies is a list of IP "
                        "families (IPv4, IPv6) assigned to this service."),
    "ipFamilyPolicy": Field(STRING, "IPFamilyPolicy represents the dual-stack-ness "
                            "requested or required by this Service: SingleStack, "
                            "PreferDualStack or RequireDualStack."),
    "allocateLoadBalancerNodePorts": Field(BOOL, "whether NodePorts will be automatically "
                                           "allocated for services with type "
                                           "LoadBalancer. Default is true."),
    "loadBalancerClass": Field(STRING, "the class of the load balancer implementation this "
                               "Service belongs to."),
    "internalTrafficPolicy": Field(STRING, "describes how nodes distribute service traffic "
                                   "they receive on the ClusterIP: Cluster or Local."),
    "trafficDistribution": Field(STRING, "offers a way to express preferences for how "
                                 "traffic is distributed to Service endpoints."),
})

SERVICE = top_level(CORE + "Service", "Service is a named abstraction of software service "
                    "(for example, mysql) consisting of local port (for example 3306) that "
                    "the proxy listens on, and the selector that determines which pods will "
                    "answer requests sent through the proxy.", ("", "v1", "Service"),
    SERVICE_SPEC,
    Struct(CORE + "ServiceStatus", "ServiceStatus represents the current status of a "
           "service.", {
        "loadBalancer": Field(LOAD_BALANCER_STATUS, "LoadBalancer contains the current "
                              "status of the load-balancer, if one is present."),
        "conditions": Field(ListOf(CONDITION, merge_key="type", strategy="merge",
                                   list_type="map", map_keys=("type",)),
                            "Current service state"),
    }),
    "Spec defines the behavior of a service.",
    "Most recently observed status of the service. Populated by the system.")


def default(svc: dict) -> None:
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {})
        config.setdefault("clientIP", {}).setdefault("timeoutSeconds", 10800)
    for port in spec.get("ports") or []:
        if isinstance(port, dict) and port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    external = spec["type"] in ("NodePort", "LoadBalancer") or spec.get("externalIPs")
    if external and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec["type"] in ("ClusterIP", "NodePort", "LoadBalancer"):
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)


def allocation_needs(svc: dict) -> tuple[bool, list[int]]:
    """(needs a cluster IP, indexes of ports that need a node port)."""
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    needs_ip = kind != "ExternalName" and not spec.get("clusterIP")
    ports = []
    if kind == "NodePort" or (kind == "LoadBalancer"
                              and spec.get("allocateLoadBalancerNodePorts", True)):
        ports = [i for i, p in enumerate(spec.get("ports") or []) if not p.get("nodePort")]
    return needs_ip, ports


def set_cluster_ip(svc: dict, ip: str) -> None:
    spec = svc.setdefault("spec", {})
    spec["clusterIP"] = ip
    spec["clusterIPs"] = [ip]
    family = "IPv6" if ip != "None" and ipaddress.ip_address(ip).version == 6 else "IPv4"
    spec.setdefault("ipFamilies", [family])
    spec.setdefault("ipFamilyPolicy", "SingleStack")


def prepare(svc: dict, old: dict | None) -> None:
    if old is None:
        svc["status"] = {"loadBalancer": {}}
        return
    spec, old_spec = svc.get("spec"), old.get("spec") or {}
    if not isinstance(spec, dict):
        return
    same_kind = spec.get("type") == old_spec.get("type")
    if spec.get("type") != "ExternalName" and not spec.get("clusterIP") and \
            old_spec.get("clusterIP"):
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if key in old_spec and not spec.get(key):
                spec[key] = old_spec[key]
    if same_kind:
        old_ports = {(p.get("port"), p.get("protocol")): p for p in old_spec.get("ports") or []}
        for port in spec.get("ports") or []:
            previous = old_ports.get((port.get("port"), port.get("protocol")))
            if previous and previous.get("nodePort") and not port.get("nodePort"):
                port["nodePort"] = previous["nodePort"]
        if old_spec.get("healthCheckNodePort") and not spec.get("healthCheckNodePort"):
            spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]


def _ports(spec: dict) -> list:
    found = []
    ports = spec.get("ports") or []
    kind = spec.get("type", "ClusterIP")
    headless = spec.get("clusterIP") == "None"
    if not ports and kind != "ExternalName" and not headless:
        found.append(errors.required("spec.ports"))
    names, keys = set(), set()
    for i, port in enumerate(ports):
        here = f"spec.ports[{i}]"
        name = port.get("name", "")
        if len(ports) > 1 and not name:
            found.append(errors.required(f"{here}.name"))
        elif name:
            found += v.each(f"{here}.name", name, v.dns1123_label)
            if name in names:
                found.append(errors.duplicate(f"{here}.name", name))
            names.add(name)
        found += v.port_number(f"{here}.port", port.get("port"))
        found += v.one_of(f"{here}.protocol", port.get("protocol", "TCP"), PROTOCOLS)
        key = (port.get("port"), port.get("protocol", "TCP"))
        if key in keys:
            found.append(errors.duplicate(here, {"port": key[0], "protocol": key[1]}))
        keys.add(key)
        target = port.get("targetPort")
        if isinstance(target, int):
            found += v.port_number(f"{here}.targetPort", target)
        elif isinstance(target, str):
            found += v.each(f"{here}.targetPort", target, v.port_name)
        node_port = port.get("nodePort")
        if node_port:
            if kind not in ("NodePort", "LoadBalancer"):
                found.append(errors.forbidden(f"{here}.nodePort", "may not be used when "
                                              f"`type` is '{kind}'"))
            found += v.port_number(f"{here}.nodePort", node_port)
    return found


def validate(svc: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(svc, old, namespaced=True, check_name=v.dns1035_label)
    if subresource == "status":
        return found
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    found += v.one_of("spec.type", kind, TYPES)
    found += _ports(spec)
    found += v.labels("spec.selector", spec.get("selector"))
    found += v.one_of("spec.sessionAffinity", spec.get("sessionAffinity", "None"),
                      ["ClientIP", "None"])
    cluster_ip = spec.get("clusterIP", "")
    if kind == "ExternalName":
        if not spec.get("externalName"):
            found.append(errors.required("spec.externalName"))
        else:
            found += v.each("spec.externalName", spec["externalName"].rstrip("."),
                            v.dns1123_subdomain)
        if cluster_ip:
            found.append(errors.forbidden("spec.clusterIP", "may not be set for "
                                          "ExternalName services"))
    elif cluster_ip and cluster_ip != "None":
        found += ip_address("spec.clusterIP", cluster_ip)
    if cluster_ip == "None" and kind in ("NodePort", "LoadBalancer"):
        found.append(errors.invalid("spec.clusterIP", "None", f"may not be set to 'None' for "
                                    f"{kind} services"))
    for i, ip in enumerate(spec.get("externalIPs") or []):
        found += ip_address(f"spec.externalIPs[{i}]", ip)
    for key, values in (("externalTrafficPolicy", ["Cluster", "Local"]),
                        ("internalTrafficPolicy", ["Cluster", "Local"]),
                        ("ipFamilyPolicy", ["SingleStack", "PreferDualStack",
                                            "RequireDualStack"])):
        if spec.get(key) is not None:
            found += v.one_of(f"spec.{key}", spec[key], values)
    if old is not None:
        old_ip = (old.get("spec") or {}).get("clusterIP", "")
        if old_ip and kind != "ExternalName" and cluster_ip != old_ip:
            found += v.immutable("spec.clusterIP", cluster_ip, old_ip)
    return found


def _external_ip(svc: dict) -> str:
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    external = list(spec.get("externalIPs") or [])
    if kind == "ExternalName":
        return spec.get("externalName", "")
    if kind == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        addrs = [i.get("ip") or i.get("hostname") for i in ingress] + external
        return ",".join(a for a in addrs if a) or "<pending>"
    return ",".join(external) or "<none>"


def ports_text(svc: dict) -> str:
    parts = []
    for port in (svc.get("spec") or {}).get("ports") or []:
        text = str(port.get("port"))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


COLUMNS = [
    tables.NAME,
    tables.column("Type", "string", "The type of the service."),
    tables.column("Cluster-IP", "string", "The IP address of the service."),
    tables.column("External-IP", "string", "The external IP addresses of the service."),
    tables.column("Port(s)", "string", "The ports the service exposes."),
    tables.AGE,
    tables.column("Selector", "string", "Route service traffic to pods with label keys and "
                  "values matching this selector.", priority=1),
]


def _row(svc: dict) -> list:
    spec = svc.get("spec") or {}
    return [tables.name(svc), spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>",
            _external_ip(svc), ports_text(svc), tables.age(svc),
            tables.join_labels(spec.get("selector"))]


def table(objs: list[dict], wide: bool = True):
    return tables.build(COLUMNS, _row, objs, wide)


def fields(svc: dict, path: str) -> str | None:
    spec = svc.get("spec") or {}
    if path == "spec.clusterIP":
        return spec.get("clusterIP", "")
    if path == "spec.type":
        return spec.get("type", "")
    return None


SERVICES = register(ResourceType(
    "", "v1", "Service", "services", "service", True, SERVICE, short_names=("svc",),
    categories=("all",), subresources=("status", "proxy"), defaulter=default,
    validator=validate, preparer=prepare, tabler=table,
    fields=fields, field_paths=("spec.clusterIP", "spec.type")))
