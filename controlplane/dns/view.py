"""The cluster as the DNS server sees it: four informers and the lookups it needs.

    Services         by namespace/name, and by ClusterIP (for PTR)
    EndpointSlices   by the Service they belong to (label kubernetes.io/service-name)
                     and by address (for PTR)
    Endpoints        the fallback for a Service that no slice names (a selector-less
                     Service with hand-written Endpoints), as kube-proxy reads them
    Pods             by IP, so `10-244-1-5.ns.pod.<zone>` is answered only for a pod
                     that really has that IP in that namespace (CoreDNS's `pods
                     verified`)

Every lookup reads the informers' caches at query time, so an answer is as fresh
as the watch (no rebuild step to wait for). Cached objects are shared with the
informers: read them, never change them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from supernetes.controlplane.client import Informer

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True)
class Endpoint:
    ip: str
    hostname: str                          # "" when the pod has none
    ready: bool
    ports: tuple[tuple[str, str, int], ...]  # (name, protocol, port)


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _slice_service(es: dict) -> list[str]:
    service = (_meta(es).get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{_meta(es).get('namespace')}/{service}"] if service else []


def _slice_addresses(es: dict) -> list[str]:
    return [a for e in es.get("endpoints") or () for a in e.get("addresses") or ()]


def _cluster_ips(svc: dict) -> list[str]:
    spec = svc.get("spec") or {}
    ips = list(spec.get("clusterIPs") or ())
    if spec.get("clusterIP") and spec["clusterIP"] not in ips:
        ips.append(spec["clusterIP"])
    return [ip for ip in ips if ip != "None"]


def _pod_ips(pod: dict) -> list[str]:
    status = pod.get("status") or {}
    ips = [p.get("ip") for p in status.get("podIPs") or () if p.get("ip")]
    if status.get("podIP") and status["podIP"] not in ips:
        ips.append(status["podIP"])
    return ips


def endpoints_from_slices(slices: list[dict]) -> list[Endpoint]:
    found: dict[str, Endpoint] = {}
    for es in sorted(slices, key=lambda s: _meta(s).get("name", "")):
        ports = tuple((p.get("name") or "", p.get("protocol") or "TCP", p["port"])
                      for p in es.get("ports") or () if p.get("port"))
        for endpoint in es.get("endpoints") or ():
            # An unset condition means ready (the API's rule for consumers).
            ready = (endpoint.get("conditions") or {}).get("ready") is not False
            for ip in (endpoint.get("addresses") or ())[:1]:
                old = found.get(ip)
                merged = ports if old is None else tuple(sorted(set(old.ports) | set(ports)))
                found[ip] = Endpoint(ip, endpoint.get("hostname") or "",
                                     ready or bool(old and old.ready), merged)
    return list(found.values())


def endpoints_from_endpoints(ep: dict) -> list[Endpoint]:
    found = []
    for subset in ep.get("subsets") or ():
        ports = tuple((p.get("name") or "", p.get("protocol") or "TCP", p["port"])
                      for p in subset.get("ports") or () if p.get("port"))
        for key, ready in (("addresses", True), ("notReadyAddresses", False)):
            for address in subset.get(key) or ():
                if address.get("ip"):
                    found.append(Endpoint(address["ip"], address.get("hostname") or "",
                                          ready, ports))
    return found


class ClusterView:
    def __init__(self, client):
        self.services = Informer(client, "v1", "Service",
                                 indexers={"clusterIP": _cluster_ips})
        self.slices = Informer(client, "discovery.k8s.io/v1", "EndpointSlice",
                               indexers={"service": _slice_service,
                                         "address": _slice_addresses})
        self.endpoints = Informer(client, "v1", "Endpoints")
        self.pods = Informer(client, "v1", "Pod", indexers={"ip": _pod_ips})
        self.informers = (self.services, self.slices, self.endpoints, self.pods)
        self.changed = time.time()         # the SOA serial follows the last change
        self.generation = 0                # +1 on every change: encoded answers expire
        self._listeners: list = []
        self._lock = threading.Lock()
        for informer in self.informers:
            informer.add_handler(self._touch, lambda old, new: self._touch(new), self._touch)

    def start(self, timeout: float = 60.0) -> bool:
        for informer in self.informers:
            informer.start()
        deadline = time.monotonic() + timeout
        return all(i.wait_for_sync(max(0.0, deadline - time.monotonic()))
                   for i in self.informers)

    def stop(self) -> None:
        for informer in self.informers:
            informer.stop()

    def on_change(self, callback) -> None:
        """Call `callback(obj)` after any watched object changes (the publisher's hook)."""
        with self._lock:
            self._listeners.append(callback)

    def _touch(self, obj: dict) -> None:
        self.changed = time.time()
        self.generation += 1
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            callback(obj)

    @property
    def serial(self) -> int:
        return int(self.changed)

    # -- lookups ---------------------------------------------------------------------

    def service(self, namespace: str, name: str) -> dict | None:
        return self.services.cache.get(f"{namespace}/{name}")

    def service_endpoints(self, namespace: str, name: str) -> list[Endpoint]:
        slices = self.slices.cache.by_index("service", f"{namespace}/{name}")
        if slices:
            return endpoints_from_slices(slices)
        ep = self.endpoints.cache.get(f"{namespace}/{name}")
        return endpoints_from_endpoints(ep) if ep is not None else []

    def has_namespace(self, namespace: str) -> bool:
        return bool(self.services.cache.index_keys("namespace", namespace)
                    or self.pods.cache.index_keys("namespace", namespace))

    def pod_has_ip(self, namespace: str, ip: str) -> bool:
        return any(_meta(p).get("namespace") == namespace
                   for p in self.pods.cache.by_index("ip", ip))

    def services_with_ip(self, ip: str) -> list[dict]:
        return self.services.cache.by_index("clusterIP", ip)

    def slices_with_ip(self, ip: str) -> list[dict]:
        return self.slices.cache.by_index("address", ip)
