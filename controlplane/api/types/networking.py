"""networking.k8s.io/v1 Ingress and NetworkPolicy: schema, defaulting and the
basic validation a later networking issue builds on.

NetworkPolicy defaults as Kubernetes: port protocol TCP, and `policyTypes`
`[Ingress]` plus `Egress` when egress rules are given.
"""

from __future__ import annotations

import ipaddress

from .. import errors, tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import INT32, INT_OR_STRING, STRING, Field, ListOf, Struct
from .metav1 import LABEL_SELECTOR, top_level
from .services import LOAD_BALANCER_STATUS, PROTOCOLS
from .volumes import TYPED_LOCAL_OBJECT_REFERENCE

NET = "io.k8s.api.networking.v1."
PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]

SERVICE_BACKEND = Struct(NET + "IngressServiceBackend", "IngressServiceBackend references a "
                         "Kubernetes Service as a Backend.", {
    "name": Field(STRING, "name is the referenced service. The service must exist in the "
                  "same namespace as the Ingress object.", required=True),
    "port": Field(Struct(NET + "ServiceBackendPort", "ServiceBackendPort is the service port "
                         "being referenced.", {
        "name": Field(STRING, "name is the name of the port on the Service. Mutually "
                      "exclusive with \"Number\"."),
        "number": Field(INT32, "number is the numerical port number (e.g. 80) on the "
                        "Service. Mutually exclusive with \"Name\"."),
    }), "port of the referenced service. A port name or port number is required."),
})

BACKEND = Struct(NET + "IngressBackend", "IngressBackend describes all endpoints for a given "
                 "service and port.", {
    "service": Field(SERVICE_BACKEND, "service references a service as a backend."),
    "resource": Field(TYPED_LOCAL_OBJECT_REFERENCE, "resource is an ObjectRef to another "
                      "Kubernetes resource in the namespace of the Ingress object."),
})

INGRESS = top_level(NET + "Ingress", "Ingress is a collection of rules that allow inbound "
                    "connections to reach the endpoints defined by a backend.",
                    ("networking.k8s.io", "v1", "Ingress"),
    Struct(NET + "IngressSpec", "IngressSpec describes the Ingress the user wishes to "
           "exist.", {
        "ingressClassName": Field(STRING, "ingressClassName is the name of an IngressClass "
                                  "cluster resource."),
        "defaultBackend": Field(BACKEND, "defaultBackend is the backend that should handle "
                                "requests that don't match any rule."),
        "tls": Field(ListOf(Struct(NET + "IngressTLS", "IngressTLS describes the transport "
                                   "layer security associated with an ingress.", {
            "hosts": Field(ListOf(STRING, list_type="atomic"), "hosts is a list of hosts "
                           "included in the TLS certificate."),
            "secretName": Field(STRING, "secretName is the name of the secret used to "
                                "terminate TLS traffic on port 443."),
        }), list_type="atomic"), "tls represents the TLS configuration."),
        "rules": Field(ListOf(Struct(NET + "IngressRule", "IngressRule represents the rules "
                                     "mapping the paths under a specified host to the "
                                     "related backend services.", {
            "host": Field(STRING, "host is the fully qualified domain name of a network "
                          "host, as defined by RFC 3986."),
            "http": Field(Struct(NET + "HTTPIngressRuleValue", "a list of http selectors "
                                 "pointing to backends.", {
                "paths": Field(ListOf(Struct(NET + "HTTPIngressPath", "HTTPIngressPath "
                                             "associates a path with a backend.", {
                    "path": Field(STRING, "path is matched against the path of an incoming "
                                  "request. It must begin with a '/'."),
                    "pathType": Field(STRING, "pathType determines the interpretation of "
                                      "the path matching: Exact, Prefix or "
                                      "ImplementationSpecific.", required=True),
                    "backend": Field(BACKEND, "backend defines the referenced service "
                                     "endpoint to which the traffic will be forwarded to.",
                                     required=True),
                }), list_type="atomic"), "paths is a collection of paths that map requests "
                    "to backends.", required=True),
            }), "http rules"),
        }), list_type="atomic"), "rules is a list of host rules used to configure the "
            "Ingress."),
    }),
    Struct(NET + "IngressStatus", "IngressStatus describe the current state of the "
           "Ingress.", {
        "loadBalancer": Field(LOAD_BALANCER_STATUS, "loadBalancer contains the current "
                              "status of the load-balancer."),
    }),
    "spec is the desired state of the Ingress.",
    "status is the current state of the Ingress.")


def _backend(path: str, backend: dict) -> list:
    found = []
    service, resource = backend.get("service"), backend.get("resource")
    if (service is None) == (resource is None):
        found.append(errors.invalid(path, "", "cannot set both service and resource backends"
                                    if service else "one backend must be specified"))
    if service is not None:
        found += v.name(f"{path}.service.name", service.get("name", ""), v.dns1035_label)
        port = service.get("port") or {}
        if port.get("name") and port.get("number"):
            found.append(errors.invalid(f"{path}.service.port", port, "cannot set both port "
                                        "name & port number"))
        elif port.get("name"):
            found += v.each(f"{path}.service.port.name", port["name"], v.port_name)
        elif port.get("number") is not None:
            found += v.port_number(f"{path}.service.port.number", port["number"])
        else:
            found.append(errors.required(f"{path}.service.port", "port name or number is "
                                         "required"))
    return found


def validate_ingress(ing: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(ing, old, namespaced=True)
    if subresource == "status":
        return found
    spec = ing.get("spec") or {}
    if spec.get("defaultBackend") is not None:
        found += _backend("spec.defaultBackend", spec["defaultBackend"])
    if not spec.get("rules") and spec.get("defaultBackend") is None:
        found.append(errors.invalid("spec", spec, "either `defaultBackend` or `rules` must be "
                                    "specified"))
    for i, rule in enumerate(spec.get("rules") or []):
        here = f"spec.rules[{i}]"
        host = rule.get("host")
        if host:
            found += v.each(f"{here}.host", host[2:] if host.startswith("*.") else host,
                            v.dns1123_subdomain)
        for j, entry in enumerate((rule.get("http") or {}).get("paths") or []):
            where = f"{here}.http.paths[{j}]"
            kind = entry.get("pathType")
            found += (v.one_of(f"{where}.pathType", kind, PATH_TYPES) if kind
                      else [errors.required(f"{where}.pathType", "pathType must be "
                                            "specified")])
            path = entry.get("path", "")
            if kind in ("Exact", "Prefix") and not path.startswith("/"):
                found.append(errors.invalid(f"{where}.path", path, "must be an absolute "
                                            "path"))
            found += _backend(f"{where}.backend", entry.get("backend") or {})
    return found


def _ingress_row(ing: dict) -> list:
    spec, status = ing.get("spec") or {}, ing.get("status") or {}
    hosts = [r.get("host") for r in spec.get("rules") or [] if r.get("host")]
    addrs = [i.get("ip") or i.get("hostname") for i in
             (status.get("loadBalancer") or {}).get("ingress") or []]
    ports = "80, 443" if spec.get("tls") else "80"
    return [tables.name(ing), spec.get("ingressClassName") or "<none>",
            ",".join(hosts) or "*", ",".join(a for a in addrs if a), ports, tables.age(ing)]


INGRESSES = register(ResourceType(
    "networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", True, INGRESS,
    short_names=("ing",), subresources=("status",), validator=validate_ingress,
    tabler=lambda objs, wide=True: tables.build(
        [tables.NAME, tables.column("Class", "string", "The name of the IngressClass"),
         tables.column("Hosts", "string", "Hosts that incoming requests are matched "
                       "against"),
         tables.column("Address", "string", "Address is a list containing ingress points "
                       "for the load-balancer"),
         tables.column("Ports", "string", "Ports of TLS configurations that open"),
         tables.AGE], _ingress_row, objs, wide)))

NETWORK_POLICY_PORT = Struct(NET + "NetworkPolicyPort", "NetworkPolicyPort describes a port "
                             "to allow traffic on", {
    "protocol": Field(STRING, "protocol represents the protocol (TCP, UDP, or SCTP) which "
                      "traffic must match. Defaults to TCP.", default="TCP"),
    "port": Field(INT_OR_STRING, "port represents the port on the given protocol: a "
                  "numerical or named port on a pod. All ports match if not set."),
    "endPort": Field(INT32, "endPort indicates that the range of ports from port to endPort "
                     "if set, inclusive, should be allowed by the policy."),
})

NETWORK_POLICY_PEER = Struct(NET + "NetworkPolicyPeer", "NetworkPolicyPeer describes a peer "
                             "to allow traffic to/from.", {
    "podSelector": Field(LABEL_SELECTOR, "podSelector is a label selector which selects "
                         "pods."),
    "namespaceSelector": Field(LABEL_SELECTOR, "namespaceSelector selects namespaces using "
                               "cluster-scoped labels."),
    "ipBlock": Field(Struct(NET + "IPBlock", "IPBlock describes a particular CIDR that is "
                            "allowed to the pods matched by a NetworkPolicySpec's "
                            "podSelector.", {
        "cidr": Field(STRING, "cidr is a string representing the IPBlock, e.g. "
                      "\"192.168.1.0/24\".", required=True),
        "except": Field(ListOf(STRING, list_type="atomic"), "except is a slice of CIDRs that "
                        "should not be included within an IPBlock."),
    }), "ipBlock defines policy on a particular IPBlock."),
})


def _rule(name: str, peers: str, doc: str) -> Struct:
    return Struct(NET + name, doc, {
        "ports": Field(ListOf(NETWORK_POLICY_PORT, list_type="atomic"), "ports is a list of "
                       "ports which should be made accessible."),
        peers: Field(ListOf(NETWORK_POLICY_PEER, list_type="atomic"), f"{peers} is a list of "
                     "peers; if empty or missing, the rule matches all peers."),
    })


NETWORK_POLICY = top_level(NET + "NetworkPolicy", "NetworkPolicy describes what network "
                           "traffic is allowed for a set of Pods",
                           ("networking.k8s.io", "v1", "NetworkPolicy"),
    Struct(NET + "NetworkPolicySpec", "NetworkPolicySpec provides the specification of a "
           "NetworkPolicy", {
        "podSelector": Field(LABEL_SELECTOR, "podSelector selects the pods to which this "
                             "NetworkPolicy object applies. An empty podSelector selects all "
                             "pods in the namespace.", required=True),
        "ingress": Field(ListOf(_rule("NetworkPolicyIngressRule", "from", "a rule allowing "
                                      "traffic to the selected pods"), list_type="atomic"),
                         "ingress is a list of ingress rules to be applied to the selected "
                         "pods."),
        "egress": Field(ListOf(_rule("NetworkPolicyEgressRule", "to", "a rule allowing "
                                     "traffic from the selected pods"), list_type="atomic"),
                        "egress is a list of egress rules to be applied to the selected "
                        "pods."),
        "policyTypes": Field(ListOf(STRING, list_type="atomic"), "policyTypes is a list of "
                             "rule types that the NetworkPolicy relates to: Ingress, Egress."),
    }), spec_doc="spec represents the specification of the desired behavior for this "
    "NetworkPolicy.")


def default_network_policy(np: dict) -> None:
    spec = np.get("spec")
    if isinstance(spec, dict) and not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def _cidr(path: str, text) -> list:
    try:
        ipaddress.ip_network(text, strict=False)
    except (ValueError, TypeError):
        return [errors.invalid(path, text, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or "
                               "2001:db8::/64)")]
    return []


def validate_network_policy(np: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(np, old, namespaced=True)
    spec = np.get("spec") or {}
    found += v.label_selector("spec.podSelector", spec.get("podSelector"))
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            here = f"spec.{direction}[{i}]"
            for j, port in enumerate(rule.get("ports") or []):
                found += v.one_of(f"{here}.ports[{j}].protocol", port.get("protocol", "TCP"),
                                  PROTOCOLS)
                number = port.get("port")
                if isinstance(number, int):
                    found += v.port_number(f"{here}.ports[{j}].port", number)
                elif isinstance(number, str):
                    found += v.each(f"{here}.ports[{j}].port", number, v.port_name)
            for j, peer in enumerate(rule.get(peers_key) or []):
                where = f"{here}.{peers_key}[{j}]"
                if not any(peer.get(k) is not None for k in ("podSelector",
                                                             "namespaceSelector", "ipBlock")):
                    found.append(errors.required(where, "must specify a peer"))
                block = peer.get("ipBlock")
                if block is not None:
                    if peer.get("podSelector") is not None or \
                            peer.get("namespaceSelector") is not None:
                        found.append(errors.forbidden(where, "may not specify both ipBlock "
                                                      "and another peer"))
                    found += _cidr(f"{where}.ipBlock.cidr", block.get("cidr"))
                    for k, cidr in enumerate(block.get("except") or []):
                        found += _cidr(f"{where}.ipBlock.except[{k}]", cidr)
                for key in ("podSelector", "namespaceSelector"):
                    found += v.label_selector(f"{where}.{key}", peer.get(key))
    for i, kind in enumerate(spec.get("policyTypes") or []):
        found += v.one_of(f"spec.policyTypes[{i}]", kind, ["Ingress", "Egress"])
    return found


NETWORK_POLICIES = register(ResourceType(
    "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", True,
    NETWORK_POLICY, short_names=("netpol",), has_status=False,
    defaulter=default_network_policy, validator=validate_network_policy,
    tabler=lambda objs, wide=True: tables.build(
        [tables.NAME, tables.column("Pod-Selector", "string", "Label selector for pods"),
         tables.AGE],
        lambda np: [tables.name(np), tables.format_selector(
            (np.get("spec") or {}).get("podSelector")).replace("<none>", "<none>"),
            tables.age(np)], objs, wide)))
