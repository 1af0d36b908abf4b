"""The `kube-dns` Service: how pods find the cluster DNS server.

As in Kubernetes, pods are told (by their node agent, in /etc/resolv.conf) to ask
the ClusterIP of the Service `kube-system/kube-dns`, 10.96.0.10 by convention, and
each node's service proxy sends those packets to the Service's endpoints. Here the
endpoint is this server itself: an Endpoints and an EndpointSlice (managed by
`supernetes-dns`) naming the address pods can reach it on and its port, UDP and
TCP. The Service has no selector, so the endpoint controllers leave both alone.

`Publisher` writes them at start, again whenever the view sees one of them
change (someone deleted or edited them), and every `period` seconds, when it also
renews its Lease (members.py): the endpoints name every DNS server whose Lease is
alive, so several control-plane servers share the Service and one that stops
(or dies) drops out. A server with no address a pod could reach (it listens on
loopback only, or on the wildcard with no --advertise) publishes nothing and says
so once; a Service it published before keeps the other servers' endpoints, or
none, so the proxy refuses at once instead of sending queries nowhere.
"""

from __future__ import annotations

import copy
import logging
import threading

from supernetes.controlplane.client import AlreadyExists, ApiError, ClientError, Conflict

from .members import Members

log = logging.getLogger(__name__)

MANAGED_BY = "supernetes-dns"
LABELS = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
          "kubernetes.io/name": "SuperDNS"}


def _ports(port: int) -> list[dict]:
    return [{"name": "dns", "port": port, "protocol": "UDP"},
            {"name": "dns-tcp", "port": port, "protocol": "TCP"}]


def wanted_objects(name: str, namespace: str, service_ip: str, addresses: list[str],
                   port: int) -> list[dict]:
    """The Service, Endpoints and EndpointSlice, as they should be."""
    meta = {"name": name, "namespace": namespace, "labels": dict(LABELS)}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": copy.deepcopy(meta),
               "spec": {"type": "ClusterIP", "clusterIP": service_ip,
                        "ports": [dict(p, port=53, targetPort=port) for p in _ports(port)]}}
    subsets = [{"addresses": [{"ip": a} for a in addresses], "ports": _ports(port)}] \
        if addresses else []
    endpoints = {"apiVersion": "v1", "kind": "Endpoints", "metadata": copy.deepcopy(meta),
                 "subsets": subsets}
    slice_meta = copy.deepcopy(meta)
    slice_meta["labels"].update({"kubernetes.io/service-name": name,
                                 "endpointslice.kubernetes.io/managed-by": MANAGED_BY})
    endpoint_slice = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": slice_meta, "addressType": "IPv4",
                      "endpoints": [{"addresses": [a], "conditions": {"ready": True}}
                                    for a in addresses],
                      "ports": _ports(port)}
    return [service, endpoints, endpoint_slice]


def _differs(old: dict, new: dict) -> bool:
    labels = (old.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in new["metadata"]["labels"].items()):
        return True
    if new["kind"] == "Service":
        spec = old.get("spec") or {}
        return spec.get("ports") != new["spec"]["ports"] or bool(spec.get("selector"))
    fields = ("subsets",) if new["kind"] == "Endpoints" else ("endpoints", "ports")
    return any(old.get(f) != new.get(f) for f in fields)


class Publisher:
    def __init__(self, client, *, name: str, namespace: str, service_ip: str,
                 address: str | None, port: int, period: float = 10.0):
        self.client = client
        self.name, self.namespace = name, namespace
        self.service_ip, self.address, self.port = service_ip, address, port
        self.period = period
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dns-publisher", daemon=True)
        self._said_unreachable = False
        self.members = Members(client, name, namespace, address, duration=int(period * 3))
        self.rounds = 0                     # ensure() passes done (tests wait on it)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop, and leave: our Lease goes, and the endpoints lose our address."""
        self._stop.set()
        self._wake.set()
        self._thread.join(10)
        if self.address is not None:
            self.members.leave()
            self.address = self.members.address = None
            self._said_unreachable = True
            try:
                self.ensure()
            except ClientError as exc:
                log.warning("taking this server out of the %s Service: %s", self.name, exc)

    def changed(self, obj: dict) -> None:
        """A watched object changed: recheck if it is one of ours."""
        meta = obj.get("metadata") or {}
        labels = meta.get("labels") or {}
        if meta.get("namespace") == self.namespace and (
                meta.get("name") == self.name
                or labels.get("kubernetes.io/service-name") == self.name):
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.ensure()
                self.rounds += 1
            except ClientError as exc:
                log.warning("publishing the %s Service: %s", self.name, exc)
                self._stop.wait(2.0)
                continue
            self._wake.wait(self.period)
            self._wake.clear()

    def ensure(self) -> None:
        if self.address is None and not self._said_unreachable:
            self._said_unreachable = True
            log.warning("cluster DNS: no address a pod can reach (listening on loopback or "
                        "the wildcard with no --advertise-address): the %s/%s Service gets "
                        "no endpoint", self.namespace, self.name)
        self.members.renew()
        service, *endpoint_objects = wanted_objects(self.name, self.namespace,
                                                    self.service_ip, self.members.alive(),
                                                    self.port)
        if self.address is not None:
            self._put(service)
        elif not self._exists(service):
            return
        for obj in endpoint_objects:
            self._put(obj)

    def _exists(self, obj: dict) -> bool:
        try:
            self.client.get(obj["apiVersion"], obj["kind"], self.name, self.namespace)
        except ApiError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    def _put(self, wanted: dict) -> None:
        resource = self.client.resource(wanted["apiVersion"], wanted["kind"])
        for _ in range(5):
            try:
                old = resource.get(self.name, self.namespace)
            except ApiError as exc:
                if exc.code != 404:
                    raise
                try:
                    resource.create(wanted, self.namespace)
                    return
                except AlreadyExists:
                    continue
            if not _differs(old, wanted):
                return
            new = copy.deepcopy(old)
            new["metadata"].setdefault("labels", {}).update(wanted["metadata"]["labels"])
            if wanted["kind"] == "Service":
                if (old.get("spec") or {}).get("clusterIP") != self.service_ip:
                    log.warning("%s/%s has ClusterIP %s, not %s: pods are told %s",
                                self.namespace, self.name, old["spec"].get("clusterIP"),
                                self.service_ip, self.service_ip)
                new["spec"]["ports"] = wanted["spec"]["ports"]
                new["spec"].pop("selector", None)
            else:
                for field in ("subsets", "endpoints", "ports"):
                    if field in wanted:
                        new[field] = wanted[field]
            try:
                resource.replace(new, self.namespace)
                return
            except Conflict:
                continue
