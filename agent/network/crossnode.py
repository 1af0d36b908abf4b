"""Cross-node pod networking: every other node's pod CIDR routed to that node.

Each node owns a /24 of the cluster CIDR (`spec.podCIDR`, given by the control
plane's node IPAM at registration). For pods on different nodes to reach each
other by their own addresses, every node needs a way to each other node's /24.
`CrossNodeRouter` keeps that true as nodes come and go:

    Node informer --(any change)--> SyncRunner --> desired_peers(nodes) --> backend.sync()

  * an informer on Nodes (a node credential may read them all) requests a sync
    on every add, update and delete; the SyncRunner coalesces bursts and syncs
    again every `resync_interval` anyway, so a route someone deleted by hand
    comes back (level-triggered: each sync computes the whole desired set);
  * `desired_peers()` is pure: every node but this one that has a pod CIDR and
    an address, except a node the control plane has lost contact with
    (Ready=Unknown, set by the node lifecycle controller after its grace
    period): its pods are being evicted, and a packet for one of them should
    fail at once here (the `unreachable` route of the cluster CIDR answers
    it) instead of vanishing into a dead node. A node that says NotReady itself
    is still reachable and keeps its route;
  * the backend turns peers into kernel state: `hostgw.HostGwBackend` (a route
    via the peer's address; nodes on one L2 segment) or `vxlan.VxlanBackend`
    (an overlay; any routed network), chosen by `make_backend(name, ...)`.

Errors: `RoutingError` when the router cannot start (informer not synced, the
backend's device not made); per-peer problems (host-gw to a node that is not
directly reachable) are logged and retried on the next sync.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

from supernetes.controlplane.client import Informer

from ..proxy.runner import SyncRunner
from .hostgw import HostGwBackend, Peer, SyncResult
from .vxlan import VxlanBackend, VxlanConfig
from .vxlan import pod_mtu as vxlan_pod_mtu

log = logging.getLogger(__name__)

BACKENDS = ("host-gw", "vxlan")
IFF_LOOPBACK = 0x8   # <linux/if.h>


class RoutingError(RuntimeError):
    """The cross-node routing could not be set up."""


def node_address(node: dict) -> str | None:
    """The address other nodes reach `node` at: its InternalIP, else its ExternalIP."""
    addresses = (node.get("status") or {}).get("addresses") or []
    for kind in ("InternalIP", "ExternalIP"):
        for entry in addresses:
            if entry.get("type") == kind:
                try:
                    if ipaddress.ip_address(entry.get("address", "")).version == 4:
                        return entry["address"]
                except ValueError:
                    continue
    return None


def _lost(node: dict) -> bool:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "Unknown"
    return False


def desired_peers(nodes: list[dict], me: str) -> list[Peer]:
    """The peers to route to, sorted by name: see the module docstring for who is left out."""
    peers = []
    for node in nodes:
        name = (node.get("metadata") or {}).get("name", "")
        cidr = (node.get("spec") or {}).get("podCIDR")
        address = node_address(node)
        if name == me or not cidr or not address or _lost(node):
            continue
        try:
            network = ipaddress.IPv4Network(cidr, strict=False)
        except ValueError:
            continue  # the API server validates podCIDR; never let one bad node stop the rest
        peers.append(Peer(name=name, pod_cidr=str(network), node_ip=address))
    return sorted(peers, key=lambda p: p.name)


def pod_mtu(backend: str, node_ip: str, netns: str | None = None) -> int:
    """The MTU pods should get: the uplink's, less the overlay's headers with vxlan.

    A node whose address sits on loopback (a one-node cluster in a namespace of its
    own) has no uplink: its pods get Ethernet's 1500, as a bridge cannot take lo's 65536.
    """
    from .netns import route_socket

    with route_socket(netns) as ipr:
        for entry in ipr.get_addr(family=socket.AF_INET):
            if entry.get_attr("IFA_ADDRESS") == node_ip:
                link = ipr.get_links(entry["index"])[0]
                if link["flags"] & IFF_LOOPBACK:
                    break
                mtu = link.get_attr("IFLA_MTU")
                return vxlan_pod_mtu(mtu) if backend == "vxlan" else mtu
    return vxlan_pod_mtu(1500) if backend == "vxlan" else 1500


def remove_all(netns: str | None = None) -> None:
    """Remove what any backend made on this node (`superlet reset`)."""
    HostGwBackend(netns).teardown()
    VxlanBackend(VxlanConfig(pod_cidr="0.0.0.0/32", node_ip="", netns=netns)).teardown()


def make_backend(name: str, *, pod_cidr: str, node_ip: str, netns: str | None = None):
    if name == "host-gw":
        return HostGwBackend(netns)
    if name == "vxlan":
        return VxlanBackend(VxlanConfig(pod_cidr=pod_cidr, node_ip=node_ip, netns=netns))
    raise ValueError(f"unknown network backend {name!r} (one of: {', '.join(BACKENDS)})")


class CrossNodeRouter:
    def __init__(self, client, backend, node_name: str, *, resync_interval: float = 30.0,
                 min_sync_interval: float = 0.05):
        self.backend = backend
        self.node_name = node_name
        self.informer = Informer(client, "v1", "Node")
        self.informer.add_handler(on_add=self._changed, on_update=self._changed2,
                                  on_delete=self._changed)
        self.runner = SyncRunner(self.sync, f"routes-{backend.name}",
                                 min_interval=min_sync_interval, max_interval=resync_interval)
        self.last_result = SyncResult()
        self._reported: dict[str, str] = {}

    def _changed(self, node: dict) -> None:
        self.runner.request()

    def _changed2(self, old: dict, new: dict) -> None:
        self.runner.request()

    def start(self, timeout: float = 30.0) -> None:
        """Set the backend up, route to every known peer, then follow changes."""
        try:
            self.backend.setup()
        except Exception as exc:
            raise RoutingError(f"{self.backend.name} backend: {exc}") from exc
        self.informer.start()
        if not self.informer.wait_for_sync(timeout):
            self.informer.stop()
            raise RoutingError(f"the node informer did not sync within {timeout} s")
        try:
            self.sync()   # routes in place before start() returns
        except Exception as exc:
            self.informer.stop()
            raise RoutingError(f"the first route sync failed: {exc}") from exc
        self.runner.start()

    def stop(self) -> None:
        """Stop following; the routes stay (pods keep talking while the agent restarts)."""
        self.runner.stop()
        self.informer.stop()

    def cleanup(self) -> None:
        self.backend.teardown()

    def sync(self) -> SyncResult:
        peers = desired_peers(self.informer.cache.list(), self.node_name)
        result = self.backend.sync(peers)
        for cidr in result.added:
            log.info("%s: routing %s", self.backend.name, cidr)
        for cidr in result.removed:
            log.info("%s: no longer routing %s", self.backend.name, cidr)
        for peer, why in result.failed.items():
            if self._reported.get(peer) != why:  # once per distinct problem, not every sync
                log.error("%s: cannot route to %s", self.backend.name, why)
        self._reported = dict(result.failed)
        self.last_result = result
        return result


__all__ = ["BACKENDS", "CrossNodeRouter", "Peer", "RoutingError", "desired_peers",
           "make_backend", "node_address", "pod_mtu", "remove_all"]
