"""API objects the DNS and Ingress tests make (Services, EndpointSlices, Ingresses),
and `eventually`, to wait for informers to catch up.

Services are selector-less and their EndpointSlices made by hand, so that no
endpoints controller (when `supernetes server` runs the controllers) ever
rewrites what a test set up.
"""

from __future__ import annotations

import time


def service(name: str, *, ip: str | None = None, ports=(("http", 80, "TCP"),),
            **spec) -> dict:
    """A selector-less Service; `ip` "None" makes it headless, None lets the API server
    allocate a ClusterIP (read it from what `create` returns)."""
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"name": n, "port": p, "protocol": proto}
                               for n, p, proto in ports], **spec}}
    if ip is not None:
        body["spec"]["clusterIP"] = ip
    return body


def endpoint_slice(service_name: str, endpoints: list[dict], ports=(("http", 8080, "TCP"),),
                   suffix: str = "a") -> dict:
    """endpoints: [{"ip": ..., "ready": bool, "hostname": ...}]"""
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{service_name}-{suffix}",
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": "IPv4",
            "ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports],
            "endpoints": [{"addresses": [e["ip"]], "conditions": {"ready": e.get("ready", True)},
                           **({"hostname": e["hostname"]} if e.get("hostname") else {})}
                          for e in endpoints]}


def ingress(name: str, rules: list[tuple[str, str, str, str, int | str]],
            default: tuple[str, int | str] | None = None, class_name: str | None = None) -> dict:
    """rules: [(host, path, pathType, service, port)]"""
    by_host: dict[str, list] = {}
    for host, path, path_type, svc, port in rules:
        port_ref = {"number": port} if isinstance(port, int) else {"name": port}
        by_host.setdefault(host, []).append(
            {"path": path, "pathType": path_type,
             "backend": {"service": {"name": svc, "port": port_ref}}})
    spec: dict = {"rules": [dict({"http": {"paths": paths}}, **({"host": h} if h else {}))
                            for h, paths in by_host.items()]}
    if default is not None:
        port_ref = {"number": default[1]} if isinstance(default[1], int) \
            else {"name": default[1]}
        spec["defaultBackend"] = {"service": {"name": default[0], "port": port_ref}}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name}, "spec": spec}


def eventually(check, timeout: float = 10.0, interval: float = 0.05):
    """Call `check` until it returns something truthy; its last value otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
