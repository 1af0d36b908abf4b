"""The Endpoints controller: each Service's Endpoints object lists the pods behind it.

    sync(namespace/name of a Service):
      Service gone        -> delete its Endpoints
      Service, no selector -> leave its Endpoints alone (the user manages them)
      else                -> the selected pods that are endpoints (endpointsutil),
                             grouped into subsets by their resolved ports: ready pods
                             under `addresses`, the others under `notReadyAddresses`;
                             written only when something changed

Watches Services, Pods and Endpoints. A pod event wakes every Service of its
namespace whose selector matches the pod before or after the change, and only when
something endpoints depend on changed (IP, readiness, labels, phase, deletion,
node, hostname).
"""

from __future__ import annotations

import copy

from supernetes.controlplane.api.meta import now_rfc3339
from supernetes.controlplane.client import AlreadyExists, ApiError, NotFound, object_key

from . import endpointsutil as epu
from . import podutil
from .base import Controller, handlers
from .podcontrol import namespace_terminating


def endpoint_view(pod: dict) -> tuple:
    """What of a pod endpoints depend on: a change elsewhere wakes nothing."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    return (podutil.labels(pod), status.get("podIP"), podutil.is_ready(pod),
            podutil.phase(pod), podutil.terminating(pod), spec.get("nodeName"),
            spec.get("hostname"), spec.get("subdomain"))


class PodServiceIndex:
    """Finds the Services of a pod's namespace that select it (shared by two controllers)."""

    def __init__(self, services_informer):
        self.services = services_informer

    def services_for(self, *pods: dict) -> list[dict]:
        namespace = podutil.meta(pods[0]).get("namespace") or ""
        found = {}
        for svc in self.services.cache.by_index("namespace", namespace):
            if any(epu.selected_pods(svc, [pod]) for pod in pods):
                found[object_key(svc)] = svc
        return list(found.values())


class EndpointsController(Controller):
    name = "endpoints"
    component = "endpoint-controller"

    def setup(self) -> None:
        self.services = self.informer("v1", "Service")
        self.pods = self.informer("v1", "Pod")
        self.endpoints = self.informer("v1", "Endpoints")
        self.index = PodServiceIndex(self.services)
        self.services.add_handler(**handlers(self.enqueue))
        self.pods.add_handler(self._pod_changed, self._pod_updated, self._pod_changed)
        self.endpoints.add_handler(on_delete=self.enqueue)
        self.endpoints_resource = self.resource("v1", "Endpoints")

    def _pod_changed(self, pod: dict) -> None:
        for svc in self.index.services_for(pod):
            self.enqueue(svc)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if endpoint_view(old) == endpoint_view(new):
            return
        for svc in self.index.services_for(old, new):
            self.enqueue(svc)

    def sync(self, key: str) -> None:
        namespace, _, name = key.partition("/")
        svc = self.services.cache.get(key)
        existing = self.endpoints.cache.get(key)
        if svc is None:
            if existing is not None:
                try:
                    self.endpoints_resource.delete(name, namespace)
                except NotFound:
                    pass
            return
        if not (svc.get("spec") or {}).get("selector"):
            return
        pods = self.pods.cache.by_index("namespace", namespace)
        subsets = self.subsets(svc, epu.selected_pods(svc, pods))
        labels = epu.service_labels(svc)
        if existing is not None and (existing.get("subsets") or []) == subsets and \
                podutil.labels(existing) == labels:
            return
        self.write(svc, existing, subsets, labels)

    def subsets(self, svc: dict, pods: list[dict]) -> list[dict]:
        groups: dict[tuple, dict] = {}
        has_ports = bool((svc.get("spec") or {}).get("ports"))
        for pod in pods:
            if not epu.is_endpoint(pod, svc):
                continue
            ports = epu.pod_ports(svc, pod)
            if has_ports and not ports:
                continue                # no container port answers any Service port
            address = {"ip": pod["status"]["podIP"], "targetRef": epu.target_ref(pod)}
            node = (pod.get("spec") or {}).get("nodeName")
            if node:
                address["nodeName"] = node
            host = epu.hostname(pod, svc)
            if host:
                address["hostname"] = host
            group = groups.setdefault(epu.port_key(ports), {"ports": ports})
            which = "addresses" if epu.pod_ready(pod, svc) else "notReadyAddresses"
            group.setdefault(which, []).append(address)
        subsets = []
        for _, group in sorted(groups.items()):
            subset = {}
            for which in ("addresses", "notReadyAddresses"):
                if group.get(which):
                    subset[which] = sorted(group[which], key=lambda a: (a["ip"],
                                           a["targetRef"]["name"]))
            if group["ports"]:
                subset["ports"] = sorted(group["ports"], key=lambda p: (p.get("name", ""),
                                                                        p["port"]))
            subsets.append(subset)
        return subsets

    def write(self, svc: dict, existing: dict | None, subsets: list[dict],
              labels: dict) -> None:
        meta = podutil.meta(svc)
        if existing is None:
            body = {"apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                 "labels": labels,
                                 "annotations": {epu.LAST_CHANGE: now_rfc3339()}},
                    "subsets": subsets}
            try:
                self.endpoints_resource.create(body, meta["namespace"])
            except AlreadyExists:
                raise               # the cache is behind: retry on what is there
            except ApiError as exc:
                if not namespace_terminating(exc):
                    raise
            return
        updated = copy.deepcopy(existing)
        updated["subsets"] = subsets
        updated["metadata"]["labels"] = labels
        updated["metadata"].setdefault("annotations", {})[epu.LAST_CHANGE] = now_rfc3339()
        self.endpoints_resource.replace(updated)
