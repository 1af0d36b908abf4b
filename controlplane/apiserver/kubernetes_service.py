"""The `kubernetes` Service in `default`: how pods find the API server.

As in Kubernetes, the API server keeps a Service `default/kubernetes` of type
ClusterIP on the first address of the service CIDR (10.96.0.1), port 443 named
`https`, and its endpoints (an Endpoints and an EndpointSlice, both named
`kubernetes`) pointing at the address and port it serves on. A pod reaches the
API at https://10.96.0.1 (the serving certificate carries that address), and the
node's service proxy DNATs it to the server.

`ensure(server, port)` runs once the server knows its port. The endpoint is the
first `--advertise-address` that is an IP address, else `--bind` when it names
one; a server reachable only on loopback (or any address, with none advertised)
publishes no endpoint, since a pod cannot be sent to the node's 127.0.0.1: the
Service then exists and refuses connections, which says what is missing.
"""

from __future__ import annotations

import ipaddress
import logging

from ..api import registry
from . import errors, namespaces, resources

log = logging.getLogger(__name__)

NAME, NAMESPACE = "kubernetes", "default"
LABELS = {"component": "apiserver", "provider": "kubernetes"}
SLICE_LABELS = {"kubernetes.io/service-name": NAME,
                "endpointslice.kubernetes.io/managed-by": "supernetes-apiserver"}


def endpoint_address(config) -> str | None:
    for candidate in (*config.advertise_addresses, config.bind):
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if address.version == 4 and not (address.is_loopback or address.is_unspecified):
            return str(address)
    return None


def ensure(server, port: int) -> None:
    """Create or correct the Service and its endpoints; never fails the server."""
    try:
        _ensure_service(server, port)
        address = endpoint_address(server.config)
        if address is None:
            log.info("the kubernetes Service gets no endpoint: no advertised address other "
                     "than loopback (pass --advertise-address)")
        _ensure_endpoints(server, address, port)
    except errors.ApiError as exc:
        log.warning("keeping the kubernetes Service: %s", exc.message)


def _put(server, group: str, version: str, plural: str, body: dict, update) -> None:
    """Create `body`; if it exists, `update(old)` returns the corrected object (or old)."""
    rt = registry.lookup(group, version, plural)
    ctx = namespaces._ctx(server, rt, NAMESPACE, NAME)
    try:
        resources.create(ctx, body)
    except errors.ApiError as exc:
        if exc.code != 409:
            raise
        resources.update_loop(ctx, update)


def _ensure_service(server, port: int) -> None:
    first_ip = str(next(ipaddress.ip_network(server.config.service_cidr).hosts()))
    wanted_ports = [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]
    body = {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
            "spec": {"type": "ClusterIP", "clusterIP": first_ip, "ports": wanted_ports,
                     "sessionAffinity": "None"}}

    def update(old: dict) -> dict:
        spec = old.setdefault("spec", {})
        if spec.get("clusterIP") != first_ip:     # immutable: it keeps the one it has
            log.warning("the kubernetes Service has %s, not %s: was --service-cidr changed?",
                        spec.get("clusterIP"), first_ip)
        spec["ports"] = wanted_ports
        return old

    _put(server, "", "v1", "services", body, update)


def _ensure_endpoints(server, address: str | None, port: int) -> None:
    ports = [{"name": "https", "port": port, "protocol": "TCP"}]
    subsets = [{"addresses": [{"ip": address}], "ports": ports}] if address else []
    endpoints = {"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
                 "subsets": subsets}

    def update_endpoints(old: dict) -> dict:
        old["subsets"] = subsets
        return old

    _put(server, "", "v1", "endpoints", endpoints, update_endpoints)
    ready = [{"addresses": [address], "conditions": {"ready": True}}] if address else []
    slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": SLICE_LABELS},
              "addressType": "IPv4", "endpoints": ready, "ports": ports}

    def update_slice(old: dict) -> dict:
        old["endpoints"], old["ports"] = ready, ports
        old["metadata"].setdefault("labels", {}).update(SLICE_LABELS)
        return old

    _put(server, "discovery.k8s.io", "v1", "endpointslices", slice_, update_slice)
