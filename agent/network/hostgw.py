"""The host-gw backend: a plain route per peer node, like flannel's host-gw.

When every node sits on one L2 segment (one switch, one VLAN, the lab's bridge)
the cheapest way to reach another node's pods is to send them to that node:

    10.244.2.0/24 via 172.31.255.12 dev eth0 proto 83     (node-2's pods, via node-2)
    10.244.3.0/24 via 172.31.255.13 dev eth0 proto 83     (node-3's pods, via node-3)

No encapsulation, no NAT: the packet leaves with the pod's own source address
and the peer node forwards it onto its bridge. Each node needs the others to be
reachable directly (on a connected network): a route through a gateway would
hand the packet to a router that knows nothing about pod CIDRs. A peer that is
not directly reachable is reported (`SyncResult.failed`) and skipped, the
others still get their routes; the VXLAN backend is the answer for such nodes.

Every route this backend makes carries the routing protocol number 83
(`ip route show proto 83`), so a sync can tell its own routes from everyone
else's: it adds what is missing, replaces what points elsewhere, and deletes
its own routes that no peer wants any more, including those a previous agent
left behind. It never touches a route it did not make.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass, field

from pyroute2.netlink.exceptions import NetlinkError

from . import netns

RTPROT_SUPERNETES = 83  # our own routing protocol number (rtnetlink leaves 44-98 unassigned)
MAIN_TABLE = 254


@dataclass(frozen=True)
class Peer:
    """Another node, as the cross-node routing sees it."""

    name: str
    pod_cidr: str   # e.g. 10.244.2.0/24
    node_ip: str    # the address other nodes reach it at (its InternalIP)


@dataclass
class SyncResult:
    added: list[str] = field(default_factory=list)     # pod CIDRs routed anew (or moved)
    removed: list[str] = field(default_factory=list)   # pod CIDRs no longer routed
    failed: dict[str, str] = field(default_factory=dict)  # peer name -> why not

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


class HostGwBackend:
    name = "host-gw"

    def __init__(self, netns_path: str | None = None):
        self.netns = netns_path

    def setup(self) -> None:
        """Nothing to make: host-gw uses the node's own uplink."""

    def sync(self, peers: list[Peer]) -> SyncResult:
        result = SyncResult()
        wanted = {peer.pod_cidr: peer for peer in peers}
        with netns.route_socket(self.netns) as ipr:
            current = owned_routes(ipr)
            for cidr, gateway in current.items():
                if cidr not in wanted:
                    _delete(ipr, cidr, gateway)
                    result.removed.append(cidr)
            for cidr, peer in wanted.items():
                if current.get(cidr) == peer.node_ip:
                    continue
                try:
                    ipr.route("replace", dst=cidr, gateway=peer.node_ip,
                              proto=RTPROT_SUPERNETES, table=MAIN_TABLE)
                except (NetlinkError, OSError) as exc:
                    result.failed[peer.name] = _explain(peer, exc)
                    if cidr in current:  # the old route points at the wrong node
                        _delete(ipr, cidr, current[cidr])
                        result.removed.append(cidr)
                    continue
                result.added.append(cidr)
        return result

    def teardown(self) -> None:
        with netns.route_socket(self.netns) as ipr:
            for cidr, gateway in owned_routes(ipr).items():
                _delete(ipr, cidr, gateway)


def owned_routes(ipr) -> dict[str, str | None]:
    """Our routes in the main table: destination CIDR -> gateway."""
    found: dict[str, str | None] = {}
    for route in ipr.get_routes(family=socket.AF_INET, table=MAIN_TABLE):
        if route["proto"] != RTPROT_SUPERNETES:
            continue
        found[f"{route.get_attr('RTA_DST')}/{route['dst_len']}"] = route.get_attr("RTA_GATEWAY")
    return found


def _delete(ipr, cidr: str, gateway: str | None) -> None:
    try:
        ipr.route("del", dst=cidr, proto=RTPROT_SUPERNETES, table=MAIN_TABLE)
    except NetlinkError as exc:
        if exc.code != errno.ESRCH:  # already gone
            raise


def error_code(exc: Exception) -> int | None:
    """The errno of a failed netlink request (pyroute2's NetlinkError is no OSError)."""
    return exc.code if isinstance(exc, NetlinkError) else getattr(exc, "errno", None)


def _explain(peer: Peer, exc: Exception) -> str:
    if error_code(exc) in (errno.ENETUNREACH, errno.EINVAL):
        return (f"node {peer.name} ({peer.node_ip}) is not on a directly connected network: "
                "host-gw needs every node on one L2 segment (use the vxlan backend)")
    return f"route {peer.pod_cidr} via {peer.node_ip}: {exc}"
