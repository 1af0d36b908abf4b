"""Services of type LoadBalancer, served by the nodes themselves (k3s's ServiceLB).

There is no cloud load balancer here. As k3s does, a LoadBalancer Service is
reachable on its own port at the address of every node, because each node's
service proxy serves the addresses listed in `status.loadBalancer.ingress` (see
agent/proxy). This loop, the cloud-controller part of it, keeps that list equal
to the addresses of the nodes that can serve:

  * nodes that are Ready, schedulable, and not labelled
    `node.kubernetes.io/exclude-from-external-load-balancers`;
  * each node's ExternalIP when it has one, else its InternalIP;
  * only Services without a `loadBalancerClass` (one with a class belongs to
    another implementation);
  * two Services wanting the same port and protocol cannot both have it on the
    same addresses: the older keeps it, the other stays `<pending>` until the
    port is free, as with k3s, whose second svclb pod would not schedule.

It polls the watch cache once a second and writes a status only when it
changes, through the same machinery as any client (the status subresource).
"""

from __future__ import annotations

import logging
import threading

from werkzeug.datastructures import MultiDict

from ..api import registry
from . import errors, namespaces, resources

log = logging.getLogger(__name__)

EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def node_address(node: dict) -> str | None:
    """The address a node serves load-balanced traffic on, if it can serve now."""
    spec, status = node.get("spec") or {}, node.get("status") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or [])
    if not ready or spec.get("unschedulable") or EXCLUDE_LABEL in labels:
        return None
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return addresses.get("ExternalIP") or addresses.get("InternalIP")


def assign(services: list[dict], nodes: list[dict]) -> dict[tuple[str, str], list[str]]:
    """(namespace, name) -> the ingress IPs each LoadBalancer Service should show."""
    ips = sorted({ip for node in nodes if (ip := node_address(node))},
                 key=lambda ip: tuple(int(p) for p in ip.split(".")) if "." in ip else (ip,))
    taken: set[tuple[str, int]] = set()
    result = {}
    ordered = sorted(services, key=lambda s: (s["metadata"].get("creationTimestamp", ""),
                                              s["metadata"]["namespace"], s["metadata"]["name"]))
    for svc in ordered:
        spec = svc.get("spec") or {}
        if spec.get("type") != "LoadBalancer" or spec.get("loadBalancerClass"):
            continue
        wanted = {(p.get("protocol", "TCP"), p.get("port")) for p in spec.get("ports") or []}
        key = (svc["metadata"]["namespace"], svc["metadata"]["name"])
        if wanted & taken:
            result[key] = []
            continue
        taken |= wanted
        result[key] = ips
    return result


class ServiceLB:
    INTERVAL = 1.0

    def __init__(self, server):
        self.server = server
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="service-lb", daemon=True)
        self._seen: tuple = ()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopped.wait(self.INTERVAL):
            try:
                self.run_once()
            except Exception:
                log.exception("updating load-balancer statuses failed")

    def run_once(self) -> None:
        svc_rt = registry.lookup("", "v1", "services")
        node_rt = registry.lookup("", "v1", "nodes")
        svc_entries = [e for e in list(self.server.cacher.for_type(svc_rt).state.values())
                       if e.fields.get("spec.type") == "LoadBalancer"]
        node_entries = list(self.server.cacher.for_type(node_rt).state.values())
        seen = tuple(sorted((e.key, e.revision) for e in svc_entries + node_entries))
        if seen == self._seen:
            return                              # nothing changed since the last pass
        services = [e.object() for e in svc_entries]
        wanted = assign(services, [e.object() for e in node_entries])
        for svc in services:
            key = (svc["metadata"]["namespace"], svc["metadata"]["name"])
            if key in wanted:
                self._write(svc_rt, key, wanted[key])
        self._seen = seen

    def _write(self, rt, key: tuple[str, str], ips: list[str]) -> None:
        ingress = [{"ip": ip, "ipMode": "VIP"} for ip in ips]
        ctx = resources.Ctx(self.server, namespaces.SYSTEM_USER, rt, key[0], key[1], "status",
                            MultiDict())

        def change(old: dict) -> dict:
            status = old.setdefault("status", {})
            if (status.get("loadBalancer") or {}).get("ingress", []) != ingress:
                status["loadBalancer"] = {"ingress": ingress} if ingress else {}
            return old

        try:
            resources.update_loop(ctx, change)
        except errors.ApiError as exc:
            if exc.code != 404:                 # deleted meanwhile: nothing to do
                raise
