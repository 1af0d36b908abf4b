"""The EndpointSlice controller: a Service's endpoints as discovery.k8s.io/v1 slices.

The same endpoints as the Endpoints controller computes (endpointsutil), in the
newer shape `kubectl get endpointslices` shows: slices labelled
`kubernetes.io/service-name=<svc>` and
`endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io`, owned by
the Service (the garbage collector removes them with it), at most 100 endpoints
each, one group of slices per distinct set of resolved ports. Every endpoint
carries conditions: serving (the pod is ready), terminating (it is being
deleted), ready (serving and not terminating); terminating pods stay listed so
proxies can drain them.

    sync(namespace/name of a Service):
      compute the wanted slices; pair them with the existing managed slices of the
      same ports (by name order); update what differs, create what is missing,
      delete what is left over. Slices of other managers are never touched.

Slices get generated names, so acting on a cache that has not yet seen the
controller's own last writes would create duplicates: the controller remembers the
resourceVersion of every slice it wrote (Kubernetes' endpointSliceTracker) and
waits until the cache has caught up before it syncs that Service again.
"""

from __future__ import annotations

import ipaddress
import threading
import time

from supernetes.controlplane.api.meta import owner_reference
from supernetes.controlplane.client import ApiError, NotFound

from . import endpointsutil as epu
from . import podutil
from .base import Controller, handlers
from .endpoints import PodServiceIndex, endpoint_view
from .hashing import prune
from .podcontrol import namespace_terminating

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS = 100
SERVICE_INDEX = "service"
WRITE_MEMORY = 10.0


def service_index(slice_: dict) -> list[str]:
    labels = podutil.labels(slice_)
    if labels.get(MANAGED_BY) != CONTROLLER_NAME or not labels.get(SERVICE_NAME):
        return []
    return [f"{podutil.meta(slice_).get('namespace')}/{labels[SERVICE_NAME]}"]


def _address_type(ip: str) -> str:
    return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"


class EndpointSliceController(Controller):
    name = "endpointslice"
    component = "endpointslice-controller"

    def setup(self) -> None:
        self.services = self.informer("v1", "Service")
        self.pods = self.informer("v1", "Pod")
        self.slices = self.informer("discovery.k8s.io/v1", "EndpointSlice",
                                    indexers={SERVICE_INDEX: service_index})
        self.index = PodServiceIndex(self.services)
        self.services.add_handler(**handlers(self.enqueue))
        self.pods.add_handler(self._pod_changed, self._pod_updated, self._pod_changed)
        self.slices.add_handler(**handlers(self._slice_changed))
        self.slice_resource = self.resource("discovery.k8s.io/v1", "EndpointSlice")
        # service key -> slice name -> (resourceVersion we wrote or None if we deleted
        # it, when); an entry the cache never confirms expires after WRITE_MEMORY s
        self._written: dict[str, dict[str, tuple[int | None, float]]] = {}
        self._written_lock = threading.Lock()

    def _pod_changed(self, pod: dict) -> None:
        for svc in self.index.services_for(pod):
            self.enqueue(svc)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if endpoint_view(old) != endpoint_view(new):
            for svc in self.index.services_for(old, new):
                self.enqueue(svc)

    def _slice_changed(self, slice_: dict) -> None:
        for key in service_index(slice_):
            self.queue.add(key)

    # -- sync ------------------------------------------------------------------------------

    def sync(self, key: str) -> None:
        namespace = key.partition("/")[0]
        svc = self.services.cache.get(key)
        existing = self.slices.cache.by_index(SERVICE_INDEX, key)
        if self._stale(key, existing):
            self.enqueue_after(key, 0.2)
            return
        if svc is None or not (svc.get("spec") or {}).get("selector"):
            for slice_ in existing if svc is None else ():
                self._delete(slice_)
            return
        wanted = self.wanted(svc, self.pods.cache.by_index("namespace", namespace))
        current: dict[tuple, list[dict]] = {}
        for slice_ in sorted(existing, key=lambda s: podutil.meta(s)["name"]):
            current.setdefault(self._group(slice_), []).append(slice_)
        for group, bodies in wanted.items():
            have = current.pop(group, [])
            for body, old in zip(bodies, have, strict=False):
                if self._content(old) != self._content(body):
                    self._update(old, body)
            for body in bodies[len(have):]:
                self._create(body)
            for old in have[len(bodies):]:
                self._delete(old)
        for leftovers in current.values():
            for old in leftovers:
                self._delete(old)

    def wanted(self, svc: dict, pods: list[dict]) -> dict[tuple, list[dict]]:
        """Slices to have, by (address type, ports), each a body ready to create."""
        groups: dict[tuple, list[dict]] = {}
        ports_of: dict[tuple, list[dict]] = {}
        has_ports = bool((svc.get("spec") or {}).get("ports"))
        for pod in epu.selected_pods(svc, pods):
            ip = (pod.get("status") or {}).get("podIP")
            if not ip or podutil.is_terminal(pod):
                continue
            ports = epu.pod_ports(svc, pod)
            if has_ports and not ports:
                continue
            serving = epu.pod_ready(pod, svc)
            terminating = podutil.terminating(pod)
            endpoint = {"addresses": [ip],
                        "conditions": {"ready": serving and not terminating,
                                       "serving": serving, "terminating": terminating},
                        "targetRef": epu.target_ref(pod)}
            node = (pod.get("spec") or {}).get("nodeName")
            if node:
                endpoint["nodeName"] = node
            host = epu.hostname(pod, svc)
            if host:
                endpoint["hostname"] = host
            group = (_address_type(ip), epu.port_key(ports))
            ports_of[group] = [dict(p, name=p.get("name", "")) for p in
                               sorted(ports, key=lambda p: (p.get("name", ""), p["port"]))]
            groups.setdefault(group, []).append(endpoint)
        bodies: dict[tuple, list[dict]] = {}
        for group, endpoints in sorted(groups.items()):
            endpoints.sort(key=lambda e: (e["addresses"][0], e["targetRef"]["name"]))
            for start in range(0, len(endpoints), MAX_ENDPOINTS):
                bodies.setdefault(group, []).append(self._body(
                    svc, group[0], ports_of[group], endpoints[start:start + MAX_ENDPOINTS]))
        return bodies

    def _body(self, svc: dict, address_type: str, ports: list[dict],
              endpoints: list[dict]) -> dict:
        meta = podutil.meta(svc)
        labels = dict(epu.service_labels(svc), **{SERVICE_NAME: meta["name"],
                                                  MANAGED_BY: CONTROLLER_NAME})
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                             "labels": labels, "ownerReferences": [owner_reference(svc)]},
                "addressType": address_type, "endpoints": endpoints, "ports": ports}

    @staticmethod
    def _group(slice_: dict) -> tuple:
        return (slice_.get("addressType", "IPv4"), epu.port_key(slice_.get("ports") or []))

    @staticmethod
    def _content(slice_: dict) -> tuple:
        return (prune(slice_.get("endpoints") or []), prune(slice_.get("ports") or []),
                podutil.labels(slice_), slice_.get("addressType"))

    # -- our own writes, as the cache should show them ------------------------------------

    def _stale(self, key: str, existing: list[dict]) -> bool:
        with self._written_lock:
            written = self._written.get(key)
            if not written:
                return False
            seen = {podutil.meta(s)["name"]: int(podutil.meta(s).get("resourceVersion") or 0)
                    for s in existing}
            now = time.monotonic()
            for name, (version, when) in list(written.items()):
                caught_up = name not in seen if version is None else seen.get(name, 0) >= version
                if caught_up or now - when > WRITE_MEMORY:
                    del written[name]
            if not written:
                del self._written[key]
                return False
            return True

    def _wrote(self, slice_: dict, deleted: bool = False) -> None:
        meta = podutil.meta(slice_)
        key = f"{meta.get('namespace')}/{podutil.labels(slice_).get(SERVICE_NAME, '')}"
        with self._written_lock:
            self._written.setdefault(key, {})[meta["name"]] = (
                None if deleted else int(meta.get("resourceVersion") or 0), time.monotonic())

    # -- writes -------------------------------------------------------------------------------

    def _create(self, body: dict) -> None:
        try:
            self._wrote(self.slice_resource.create(body, body["metadata"]["namespace"]))
        except ApiError as exc:
            if not namespace_terminating(exc):
                raise

    def _update(self, old: dict, body: dict) -> None:
        updated = dict(old, endpoints=body["endpoints"], ports=body["ports"],
                       addressType=body["addressType"])
        updated["metadata"] = dict(podutil.meta(old), labels=body["metadata"]["labels"])
        self._wrote(self.slice_resource.replace(updated))

    def _delete(self, slice_: dict) -> None:
        meta = podutil.meta(slice_)
        try:
            self.slice_resource.delete(meta["name"], meta.get("namespace"),
                                       preconditions={"uid": meta.get("uid")})
        except NotFound:
            pass
        self._wrote(slice_, deleted=True)
