"""What the proxy serves, as plain data: Services and their endpoints -> ServicePorts.

Pure functions of API objects (no kernel, no client), so everything the rules
depend on is unit-tested without root. One `ServicePort` is one port of one
Service with all the rules need to know about it:

    default/web:http  TCP  10.96.14.2:80  nodePort 30080  affinity 10800 s
        -> 10.244.1.5:8080 (node-a, ready), 10.244.2.9:8080 (node-b, ready)

Endpoints come from EndpointSlices (labelled `kubernetes.io/service-name`), as
kube-proxy reads them; a Service that no slice names falls back to its
Endpoints object, so selector-less Services with hand-written Endpoints work
without a mirroring controller. A Service port finds its endpoint port by name
and protocol (the endpoints controller has already resolved named targetPorts
to numbers). Which endpoints get traffic follows kube-proxy: the ready ones;
when none is ready, the ones still serving while they terminate.

Not proxied: headless Services (clusterIP None), ExternalName Services, and
ports whose protocol the rules do not know.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int
    node_name: str = ""
    ready: bool = True
    serving: bool = True
    terminating: bool = False


@dataclass(frozen=True)
class ServicePort:
    namespace: str
    service: str
    port_name: str
    protocol: str                       # TCP, UDP or SCTP
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: tuple[str, ...] = ()  # spec.externalIPs and load-balancer ingress IPs
    affinity_timeout: int = 0           # ClientIP session affinity, seconds (0: none)
    external_local: bool = False        # externalTrafficPolicy: Local
    endpoints: tuple[Endpoint, ...] = field(default=())

    @property
    def key(self) -> str:
        """`default/web/tcp/http`: readable and unique (names never contain '/')."""
        name = self.port_name or str(self.port)
        return f"{self.namespace}/{self.service}/{self.protocol.lower()}/{name}"

    @property
    def display(self) -> str:
        return f"{self.namespace}/{self.service}:{self.port_name or self.port}"

    def usable(self, node_name: str | None = None) -> tuple[Endpoint, ...]:
        """The endpoints that get new connections (on `node_name` only, if given)."""
        candidates = [e for e in self.endpoints if node_name is None or e.node_name == node_name]
        ready = tuple(e for e in candidates if e.ready)
        if ready:
            return ready
        return tuple(e for e in candidates if e.serving and e.terminating)


def _name(obj: dict) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


def proxied(svc: dict) -> bool:
    spec = svc.get("spec") or {}
    ip = spec.get("clusterIP")
    return spec.get("type", "ClusterIP") != "ExternalName" and ip not in (None, "", "None") \
        and _ipv4(ip)


def endpoints_from_slices(port_name: str, protocol: str, slices: list[dict]) -> list[Endpoint]:
    found: dict[tuple[str, int], Endpoint] = {}
    for es in slices:
        if es.get("addressType", "IPv4") != "IPv4":
            continue
        number = None
        for p in es.get("ports") or []:
            if (p.get("name") or "") == port_name and p.get("protocol", "TCP") == protocol:
                number = p.get("port")
        if not number:
            continue
        for endpoint in es.get("endpoints") or []:
            conditions = endpoint.get("conditions") or {}
            # An unset condition means true for ready and serving (the API's rule).
            ready = conditions.get("ready") is not False
            serving = conditions.get("serving", ready) is not False
            terminating = conditions.get("terminating") is True
            for address in (endpoint.get("addresses") or [])[:1]:
                # Slices may overlap while the controller moves endpoints: first wins.
                found.setdefault((address, number), Endpoint(
                    address, number, endpoint.get("nodeName") or "", ready, serving,
                    terminating))
    return sorted(found.values())


def endpoints_from_endpoints(port_name: str, protocol: str, ep: dict) -> list[Endpoint]:
    found: dict[tuple[str, int], Endpoint] = {}
    for subset in ep.get("subsets") or []:
        number = None
        for p in subset.get("ports") or []:
            if (p.get("name") or "") == port_name and p.get("protocol", "TCP") == protocol:
                number = p.get("port")
        if not number:
            continue
        for key, ready in (("addresses", True), ("notReadyAddresses", False)):
            for address in subset.get(key) or []:
                found.setdefault((address["ip"], number), Endpoint(
                    address["ip"], number, address.get("nodeName") or "", ready, ready))
    return sorted(found.values())


def service_ports(svc: dict, slices: list[dict], endpoints: dict | None = None
                  ) -> list[ServicePort]:
    """The ServicePorts of one Service, given the slices naming it (or its Endpoints)."""
    if not proxied(svc):
        return []
    namespace, name = _name(svc)
    spec = svc.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = list(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        external += [i["ip"] for i in ingress if i.get("ip")]
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        affinity = int(config.get("timeoutSeconds") or 10800)
    result = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol", "TCP")
        if protocol not in PROTOCOLS:
            continue
        port_name = port.get("name") or ""
        if slices or endpoints is None:
            eps = endpoints_from_slices(port_name, protocol, slices)
        else:
            eps = endpoints_from_endpoints(port_name, protocol, endpoints)
        node_port = (port.get("nodePort") or 0) if kind in ("NodePort", "LoadBalancer") else 0
        result.append(ServicePort(
            namespace=namespace, service=name, port_name=port_name, protocol=protocol,
            cluster_ip=spec["clusterIP"], port=int(port["port"]), node_port=int(node_port),
            external_ips=tuple(dict.fromkeys(ip for ip in external if _ipv4(ip))),
            affinity_timeout=affinity,
            external_local=spec.get("externalTrafficPolicy") == "Local"
            and bool(node_port or external),
            endpoints=tuple(eps)))
    return result


def _ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def slice_service(es: dict) -> str | None:
    """`namespace/name` of the Service a slice belongs to (None: no label)."""
    name = ((es.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL)
    if not name:
        return None
    return f"{_name(es)[0]}/{name}"
