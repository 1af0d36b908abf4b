"""What a Service's endpoints are: shared by the Endpoints and EndpointSlice controllers.

For a Service with a selector, every pod the selector matches (in the Service's
namespace) that has an IP, is not finished, and is either not terminating or
terminating with the Service publishing not-ready addresses, is an endpoint;
ready if its Ready condition is True (or the Service says
publishNotReadyAddresses). Each Service port resolves per pod: a number as is, a
name through the pod's container ports of that name and protocol (a pod without
such a port is no endpoint for that Service port).
"""

from __future__ import annotations

from supernetes.controlplane.api.selectors import selector_from_set

from . import podutil

LAST_CHANGE = "endpoints.kubernetes.io/last-change-trigger-time"
HEADLESS_LABEL = "service.kubernetes.io/headless"


def selected_pods(service: dict, pods: list[dict]) -> list[dict]:
    selector = (service.get("spec") or {}).get("selector")
    if not selector:
        return []
    compiled = selector_from_set(selector)
    return [p for p in pods if compiled.matches(podutil.labels(p))]


def publishes_not_ready(service: dict) -> bool:
    return bool((service.get("spec") or {}).get("publishNotReadyAddresses"))


def is_endpoint(pod: dict, service: dict) -> bool:
    if not (pod.get("status") or {}).get("podIP") or podutil.is_terminal(pod):
        return False
    return not podutil.terminating(pod) or publishes_not_ready(service)


def pod_ready(pod: dict, service: dict) -> bool:
    return publishes_not_ready(service) or podutil.is_ready(pod)


def resolve_port(service_port: dict, pod: dict) -> int | None:
    """The pod's port for a Service port (its targetPort, by number or by name)."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or ():
        for port in container.get("ports") or ():
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return port.get("containerPort")
    return None


def pod_ports(service: dict, pod: dict) -> list[dict]:
    """EndpointPorts of this pod: name, port, protocol (and appProtocol)."""
    ports = []
    for sp in (service.get("spec") or {}).get("ports") or ():
        number = resolve_port(sp, pod)
        if number is None:
            continue
        port = {"port": number, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("name"):
            port["name"] = sp["name"]
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        ports.append(port)
    return ports


def target_ref(pod: dict) -> dict:
    meta = podutil.meta(pod)
    return {"kind": "Pod", "namespace": meta.get("namespace"), "name": meta.get("name"),
            "uid": meta.get("uid")}


def hostname(pod: dict, service: dict) -> str | None:
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == podutil.meta(service).get("name"):
        return spec["hostname"]
    return None


def service_labels(service: dict) -> dict:
    labels = dict(podutil.labels(service))
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    else:
        labels.pop(HEADLESS_LABEL, None)
    return labels


def port_key(ports: list[dict]) -> tuple:
    return tuple(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in ports))
