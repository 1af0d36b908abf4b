"""One pod's half of the network: a routed veth pair from the node into the pod.

`attach(uid, netns_path)` gives the pod's network namespace (made by the sandbox,
held by a bind mount) its interfaces, in this order:

  1. an address from host-local IPAM (the same one again if the pod had one);
  2. a veth pair: `veth<hash of the UID>` stays on the node as a plain routed
     interface (no bridge, no address), and a host route sends the pod's
     address into it (`10.244.1.7/32 dev vethXXXX scope link src 10.244.1.1`);
     its peer is created directly inside the pod's namespace as `eth0`;
  3. inside the pod: `lo` up, `eth0` gets the address as a /32 and comes up,
     and a default route points at the node's gateway address (`onlink`:
     with a /32 nothing else is on-link).

This is Calico's model. The pod has no neighbour but its gateway, so
everything it sends, to a pod on the same node too, goes to the node's IP
stack and is routed: every packet meets the node's routing and netfilter
exactly once, as IP (a Service's DNAT and its undoing, policies,
masquerade), and nothing is switched. The gateway address lives on the
node's gateway device (node.py), not on the veth, so the pod never asks for
its MAC: every node end has the same fixed MAC, ee:ee:ee:ee:ee:ee (Calico's;
each veth is a link of its own, so they never meet), and the pod gets a
permanent neighbour entry for its gateway with it. (Linux would answer that
ARP from the node end too, for an address the node owns on another device -
but not where the host sets arp_ignore 1 or 2, as IPVS setups do, and the
setting is global.) A pod reaching itself through
its Service (hairpin) is routed back out of the interface it came in on,
which routing allows without any port flag. When a bridge held the pod
veths, each packet also crossed the bridge on its way in and out of the
node: a frame handler, a forwarding-database lookup and a second device
transmit per hop, on the sending core (bench/crossnode.py).

The `src` of the host route keeps the node talking to its pods from the
gateway address (probes, the node calling a pod), as it did when the
gateway's /24 was the route to them.

It is reentrant: a pod that is already wired is left alone, a half-wired one (the
agent died mid-way, or an older agent put its veth on the bridge) is rewired. A
pod that had no address yet cannot be wired at all, so its checks are skipped:
that is the common case, on the start-up path of every pod. One netlink socket
to the node's namespace is kept open (opening one costs pyroute2 more than the
requests sent over it) and shared under a lock; `close()` lets it go. Each
netlink request costs pyroute2 a few milliseconds of CPU, and a burst of pods
waits on the agent's one core, so the start-up path sends as few as it can: the
node end is created already up, `lo` is known by its fixed index, and nine
requests wire a pod. `detach(uid)` deletes the node end of the veth (the kernel
deletes its peer and the host route with it) and frees the address; deleting
the pod's namespace afterwards is the sandbox's job.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass

from . import netns
from .ipam import HostLocalIPAM
from .node import NodeNetwork

POD_IFNAME = "eth0"
POD_PREFIXLEN = 32  # the pod's only neighbour is its gateway: see the module docstring
RTNH_F_ONLINK = 4   # <linux/rtnetlink.h>
RT_SCOPE_LINK = 253  # <linux/rtnetlink.h>: the pod is directly behind the node end
NUD_PERMANENT = 0x80  # <linux/neighbour.h>
NODE_END_MAC = "ee:ee:ee:ee:ee:ee"  # every pod veth's node end: see the module docstring
LOOPBACK_INDEX = 1  # the kernel gives `lo` index 1 in every namespace (LOOPBACK_IFINDEX)


class PodNetworkError(RuntimeError):
    """The pod's interfaces could not be set up or removed."""


@dataclass(frozen=True)
class PodNetwork:
    ip: str
    prefixlen: int
    gateway: str
    host_veth: str


def host_veth_name(uid: str) -> str:
    # IFNAMSIZ is 16 with the NUL: "veth" + 11 hex digits of the UID's hash.
    return "veth" + hashlib.sha256(uid.encode()).hexdigest()[:11]


class PodNetworker:
    def __init__(self, node: NodeNetwork, ipam: HostLocalIPAM):
        self.node = node
        self.ipam = ipam
        self._lock = threading.Lock()
        self._node_socket = None

    @contextmanager
    def _node(self):
        """The shared netlink socket to the node's namespace (opened on first use)."""
        with self._lock:
            if self._node_socket is None:
                self._node_socket = netns.route_socket(self.node.config.netns)
            yield self._node_socket

    def close(self) -> None:
        with self._lock:
            if self._node_socket is not None:
                self._node_socket.close()
                self._node_socket = None

    def attach(self, uid: str, netns_path: str) -> PodNetwork:
        had_one = self.ipam.lookup(uid) is not None
        address = self.ipam.allocate(uid)
        wanted = PodNetwork(ip=str(address), prefixlen=POD_PREFIXLEN,
                            gateway=str(self.node.gateway), host_veth=host_veth_name(uid))
        try:
            if had_one:
                if self._wired(wanted, netns_path):
                    return wanted
                self._remove_host_veth(wanted.host_veth)
            self._create_veth(wanted, netns_path)
            self._configure_pod_side(wanted, netns_path)
        except OSError as exc:
            raise PodNetworkError(f"pod {uid}: {exc}") from exc
        return wanted

    def detach(self, uid: str) -> None:
        try:
            self._remove_host_veth(host_veth_name(uid))
        except OSError as exc:
            raise PodNetworkError(f"pod {uid}: {exc}") from exc
        self.ipam.release(uid)

    def lookup(self, uid: str) -> PodNetwork | None:
        address = self.ipam.lookup(uid)
        if address is None:
            return None
        return PodNetwork(ip=str(address), prefixlen=POD_PREFIXLEN,
                          gateway=str(self.node.gateway), host_veth=host_veth_name(uid))

    # --- steps ---------------------------------------------------------------

    def _wired(self, wanted: PodNetwork, netns_path: str) -> bool:
        with self._node() as ipr:
            host = ipr.link_lookup(ifname=wanted.host_veth)
            if not host:
                return False
            # The pod's address must be routed into its veth (not to a bridge).
            routes = ipr.route("get", dst=wanted.ip)
            if not routes or routes[0].get_attr("RTA_OIF") != host[0]:
                return False
        with netns.route_socket(netns_path) as ipr:
            index = ipr.link_lookup(ifname=POD_IFNAME)
            if not index:
                return False
            addresses = {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=index[0])}
            return wanted.ip in addresses

    def _remove_host_veth(self, name: str) -> None:
        with self._node() as ipr:
            for index in ipr.link_lookup(ifname=name):
                ipr.link("del", index=index)

    def _create_veth(self, wanted: PodNetwork, netns_path: str) -> None:
        config = self.node.config
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with self._node() as ipr:
                ipr.link("add", ifname=wanted.host_veth, kind="veth", mtu=config.mtu,
                         address=NODE_END_MAC, state="up",
                         peer={"ifname": POD_IFNAME, "net_ns_fd": fd, "mtu": config.mtu})
                (host,) = ipr.link_lookup(ifname=wanted.host_veth)
                ipr.route("replace", dst=wanted.ip, dst_len=32, oif=host, scope=RT_SCOPE_LINK,
                          prefsrc=wanted.gateway)
        finally:
            os.close(fd)

    def _configure_pod_side(self, wanted: PodNetwork, netns_path: str) -> None:
        with netns.route_socket(netns_path) as ipr:
            ipr.link("set", index=LOOPBACK_INDEX, state="up")
            (eth0,) = ipr.link_lookup(ifname=POD_IFNAME)
            ipr.addr("add", index=eth0, address=wanted.ip, prefixlen=wanted.prefixlen)
            ipr.link("set", index=eth0, state="up")
            # After `up`: taking a link down flushes its neighbour entries.
            ipr.neigh("add", dst=wanted.gateway, lladdr=NODE_END_MAC, ifindex=eth0,
                      state=NUD_PERMANENT)
            ipr.route("add", dst="default", gateway=wanted.gateway, oif=eth0,
                      flags=RTNH_F_ONLINK)


def pod_address(network: PodNetwork) -> ipaddress.IPv4Interface:
    return ipaddress.ip_interface(f"{network.ip}/{network.prefixlen}")
