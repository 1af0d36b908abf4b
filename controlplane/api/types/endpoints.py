"""core/v1 Endpoints and discovery.k8s.io/v1 EndpointSlice: the addresses behind a
Service, written by the endpoints controller and read by every node's service proxy.
"""

from __future__ import annotations

from .. import errors, tables
from .. import validation as v
from ..registry import ResourceType, register
from ..schema import BOOL, INT32, STRING, Field, ListOf, MapOf, Struct
from .metav1 import OBJECT_META, OBJECT_REFERENCE
from .podspec_validation import ip_address
from .services import PROTOCOLS

CORE = "io.k8s.api.core.v1."
DISCOVERY = "io.k8s.api.discovery.v1."

ENDPOINT_ADDRESS = Struct(CORE + "EndpointAddress", "EndpointAddress is a tuple that "
                          "describes single IP address.", {
    "ip": Field(STRING, "The IP of this endpoint.", required=True),
    "hostname": Field(STRING, "The Hostname of this endpoint"),
    "nodeName": Field(STRING, "Optional: Node hosting this endpoint."),
    "targetRef": Field(OBJECT_REFERENCE, "Reference to object providing the endpoint."),
})

ENDPOINT_PORT = Struct(CORE + "EndpointPort", "EndpointPort is a tuple that describes a "
                       "single port.", {
    "name": Field(STRING, "The name of this port. Must match the name of the service port."),
    "port": Field(INT32, "The port number of the endpoint.", required=True),
    "protocol": Field(STRING, "The IP protocol for this port: TCP, UDP, or SCTP. Default is "
                      "TCP.", default="TCP"),
    "appProtocol": Field(STRING, "The application protocol for this port."),
})

ENDPOINTS = Struct(CORE + "Endpoints", "Endpoints is a collection of endpoints that "
                   "implement the actual service.", {
    "apiVersion": Field(STRING, "APIVersion defines the versioned schema of this object."),
    "kind": Field(STRING, "Kind is a string value representing the REST resource."),
    "metadata": Field(OBJECT_META, "Standard object's metadata."),
    "subsets": Field(ListOf(Struct(CORE + "EndpointSubset", "EndpointSubset is a group of "
                                   "addresses with a common set of ports.", {
        "addresses": Field(ListOf(ENDPOINT_ADDRESS, list_type="atomic"), "IP addresses which "
                           "offer the related ports that are marked as ready."),
        "notReadyAddresses": Field(ListOf(ENDPOINT_ADDRESS, list_type="atomic"), "IP "
                                   "addresses which offer the related ports but are not "
                                   "currently marked as ready."),
        "ports": Field(ListOf(ENDPOINT_PORT, list_type="atomic"), "Port numbers available on "
                       "the related IP addresses."),
    }), list_type="atomic"), "The set of all endpoints is the union of all subsets."),
}, ("", "v1", "Endpoints"))


def _validate_subsets(subsets) -> list:
    found = []
    for i, subset in enumerate(subsets or []):
        here = f"subsets[{i}]"
        for key in ("addresses", "notReadyAddresses"):
            for j, addr in enumerate(subset.get(key) or []):
                found += ip_address(f"{here}.{key}[{j}].ip", addr.get("ip"))
                if addr.get("hostname"):
                    found += v.each(f"{here}.{key}[{j}].hostname", addr["hostname"],
                                    v.dns1123_label)
        ports = subset.get("ports") or []
        for j, port in enumerate(ports):
            if len(ports) > 1 and not port.get("name"):
                found.append(errors.required(f"{here}.ports[{j}].name"))
            found += v.port_number(f"{here}.ports[{j}].port", port.get("port"))
            found += v.one_of(f"{here}.ports[{j}].protocol", port.get("protocol", "TCP"),
                              PROTOCOLS)
    return found


def validate_endpoints(ep: dict, old: dict | None = None, subresource: str = "") -> list:
    return v.meta_for(ep, old, namespaced=True) + _validate_subsets(ep.get("subsets"))


def format_endpoints(ep: dict, limit: int = 3) -> str:
    """kubectl's ENDPOINTS cell: `10.0.0.1:80,10.0.0.2:80 + 2 more...`."""
    items = []
    for subset in ep.get("subsets") or []:
        ports = subset.get("ports") or [{}]
        for addr in subset.get("addresses") or []:
            for port in ports:
                items.append(f"{addr.get('ip')}:{port['port']}" if "port" in port
                             else addr.get("ip", ""))
    if not items:
        return "<none>"
    shown = ",".join(items[:limit])
    if len(items) > limit:
        shown += f" + {len(items) - limit} more..."
    return shown


ENDPOINTS_TYPE = register(ResourceType(
    "", "v1", "Endpoints", "endpoints", "endpoints", True, ENDPOINTS, short_names=("ep",),
    has_status=False, validator=validate_endpoints,
    tabler=lambda objs, wide=True: tables.build(
        [tables.NAME, tables.column("Endpoints", "string", "Endpoints of the service"),
         tables.AGE],
        lambda ep: [tables.name(ep), format_endpoints(ep), tables.age(ep)], objs, wide)))

ENDPOINT_CONDITIONS = Struct(DISCOVERY + "EndpointConditions", "EndpointConditions "
                             "represents the current condition of an endpoint.", {
    "ready": Field(BOOL, "ready indicates that this endpoint is ready to receive traffic."),
    "serving": Field(BOOL, "serving indicates that this endpoint is able to receive "
                     "traffic, even while terminating."),
    "terminating": Field(BOOL, "terminating indicates that this endpoint is terminating."),
})

ENDPOINT = Struct(DISCOVERY + "Endpoint", "Endpoint represents a single logical \"backend\" "
                  "implementing a service.", {
    "addresses": Field(ListOf(STRING, list_type="set"), "addresses of this endpoint; 1 to "
                       "100 of them.", required=True),
    "conditions": Field(ENDPOINT_CONDITIONS, "conditions contains information about the "
                        "current status of the endpoint."),
    "hostname": Field(STRING, "hostname of this endpoint."),
    "targetRef": Field(OBJECT_REFERENCE, "targetRef is a reference to a Kubernetes object "
                       "that represents this endpoint."),
    "deprecatedTopology": Field(MapOf(STRING), "deprecatedTopology contains topology "
                                "information part of the v1beta1 API."),
    "nodeName": Field(STRING, "nodeName represents the name of the Node hosting this "
                      "endpoint."),
    "zone": Field(STRING, "zone is the name of the Zone this endpoint exists in."),
    "hints": Field(Struct(DISCOVERY + "EndpointHints", "EndpointHints provides hints "
                          "describing how an endpoint should be consumed.", {
        "forZones": Field(ListOf(Struct(DISCOVERY + "ForZone", "ForZone provides information "
                                        "about which zones should consume this endpoint.", {
            "name": Field(STRING, "name represents the name of the zone.", required=True),
        }), list_type="atomic"), "forZones indicates the zone(s) this endpoint should be "
            "consumed by."),
    }), "hints contains information associated with how an endpoint should be consumed."),
})

ENDPOINT_SLICE = Struct(DISCOVERY + "EndpointSlice", "EndpointSlice represents a subset of "
                        "the endpoints that implement a service.", {
    "apiVersion": Field(STRING, "APIVersion defines the versioned schema of this object."),
    "kind": Field(STRING, "Kind is a string value representing the REST resource."),
    "metadata": Field(OBJECT_META, "Standard object's metadata."),
    "addressType": Field(STRING, "addressType specifies the type of address carried by this "
                         "EndpointSlice: IPv4, IPv6 or FQDN.", required=True),
    "endpoints": Field(ListOf(ENDPOINT, list_type="atomic"), "endpoints is a list of unique "
                       "endpoints in this slice.", required=True),
    "ports": Field(ListOf(Struct(DISCOVERY + "EndpointPort", "EndpointPort represents a Port "
                                 "used by an EndpointSlice", {
        "name": Field(STRING, "name represents the name of this port."),
        "protocol": Field(STRING, "protocol represents the IP protocol for this port. "
                          "Defaults to TCP.", default="TCP"),
        "port": Field(INT32, "port represents the port number of the endpoint."),
        "appProtocol": Field(STRING, "The application protocol for this port."),
    }), list_type="atomic"), "ports specifies the list of network ports exposed by each "
        "endpoint in this slice."),
}, ("discovery.k8s.io", "v1", "EndpointSlice"))


def validate_slice(es: dict, old: dict | None = None, subresource: str = "") -> list:
    found = v.meta_for(es, old, namespaced=True)
    kind = es.get("addressType")
    found += v.one_of("addressType", kind, ["IPv4", "IPv6", "FQDN"])
    if old is not None and old.get("addressType") != kind:
        found += v.immutable("addressType", kind, old.get("addressType"))
    for i, endpoint in enumerate(es.get("endpoints") or []):
        addrs = endpoint.get("addresses") or []
        if not 1 <= len(addrs) <= 100:
            found.append(errors.required(f"endpoints[{i}].addresses", "must contain at least "
                                         "1 address") if not addrs else
                         errors.too_many(f"endpoints[{i}].addresses", len(addrs), 100))
        for j, addr in enumerate(addrs):
            if kind in ("IPv4", "IPv6"):
                found += ip_address(f"endpoints[{i}].addresses[{j}]", addr)
    for i, port in enumerate(es.get("ports") or []):
        if port.get("port") is not None:
            found += v.port_number(f"ports[{i}].port", port["port"])
        found += v.one_of(f"ports[{i}].protocol", port.get("protocol", "TCP"), PROTOCOLS)
    return found


def _slice_row(es: dict) -> list:
    ports = ",".join(str(p.get("port", "")) for p in es.get("ports") or [] if "port" in p)
    addrs = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    shown = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [tables.name(es), es.get("addressType", ""), ports or "<unset>",
            shown or "<unset>", tables.age(es)]


ENDPOINT_SLICES = register(ResourceType(
    "discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", True,
    ENDPOINT_SLICE, has_status=False, validator=validate_slice,
    tabler=lambda objs, wide=True: tables.build(
        [tables.NAME, tables.column("AddressType", "string", "The IP protocol for this "
                                    "slice"),
         tables.column("Ports", "string", "The ports for this slice"),
         tables.column("Endpoints", "string", "The endpoints for this slice"), tables.AGE],
        _slice_row, objs, wide)))
