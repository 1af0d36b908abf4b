"""The node's half of pod networking: the bridge, forwarding, routes and rules.

`NodeNetwork.ensure()` is idempotent and cheap when nothing changed, so the agent
calls it at start and whenever it resyncs. It makes the node look like this:

  * the gateway device `super0`, up, holding the gateway address (the first
    address of the node's pod CIDR, e.g. 10.244.1.1/24). No pod is plugged into
    it: each pod's veth is a routed interface of its own with a /32 route
    (pod.py), and those routes are how the node reaches its pods. The device
    is only where the address lives, the one every pod uses as its gateway,
    the cluster DNS listens on, and the node's own connections to Services
    leave from (proxy/kernel.py). It is a bridge with no ports because that
    is a device every kernel has that can hold an address while no cable is
    in it (the kernel here has no `dummy`); its /24 route, "linkdown" without
    ports, still sends a packet for an unused pod address there, where its
    ARP goes unanswered and the sender gets "host unreachable";
  * `net.ipv4.ip_forward = 1`, so pods reach other nodes and the outside;
  * no bridge netfilter (`net.bridge.bridge-nf-call-iptables = 0` here, when
    br_netfilter is loaded at all): nothing is bridged between pods. A pod
    holds a /32 and routes everything via the gateway (pod.py), so pod to
    pod on this node is routed too, and pod B's reply to a pod A that called
    it through a Service's virtual IP comes back through conntrack, which
    undoes the DNAT. The setting is per network namespace and is written
    here because something else on the machine may load the module (a node
    upgraded from the days when pods were bridge ports may still have some);
  * no ICMP redirects (`all`, and `default` for every pod veth made later): a
    pod reaching itself through its Service is routed back out of the
    interface it came in on, and a redirect there would tell the pod to send
    straight to the endpoint (breaking the DNAT) - and would use up the pod's
    ICMP allowance, so the "port unreachable" of a Service without endpoints
    never arrived and the client hung;
  * `lo` up (a fresh namespace has it down), for what the node sends itself;
  * `unreachable` routes for the whole cluster pod CIDR (10.244.0.0/16) and the
    service CIDR (10.96.0.0/12). They sit below the specific routes (this node's
    /24 on the bridge, other nodes' /24s added by the cross-node routing later),
    and above the default route: a packet for a pod or service that no specific
    route knows is refused here, instead of leaking out through the machine's
    default gateway;
  * nftables table `supernetes-node` (see nft.py): masquerade for traffic from the
    pod CIDR to outside the cluster (pod-to-pod keeps its source address), and
    accept forwarding to and from pods (hosts whose FORWARD policy is drop, as
    with Docker, would otherwise drop pod traffic).

`teardown()` removes all of it (the agent calls it from `supernetes down`).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass

from . import netns, nft

TABLE = ("ip", "supernetes-node")
RTN_UNREACHABLE = 7  # <linux/rtnetlink.h>
UNREACHABLE_METRIC = 4096  # any route more specific or better wins over it


@dataclass(frozen=True)
class NodeNetworkConfig:
    pod_cidr: str  # this node's range, e.g. 10.244.1.0/24
    cluster_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    bridge: str = "super0"
    mtu: int = 1500
    masquerade: bool = True
    netns: str | None = None  # the node's namespace; None = where the agent runs


class NodeNetwork:
    def __init__(self, config: NodeNetworkConfig):
        self.config = config
        self.pod_network = ipaddress.ip_network(config.pod_cidr)
        self.gateway = self.pod_network.network_address + 1

    def ensure(self) -> None:
        c = self.config
        with netns.route_socket(c.netns) as ipr:
            bridge = self._ensure_bridge(ipr)
            existing = {
                (a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=bridge)
            }
            if (str(self.gateway), self.pod_network.prefixlen) not in existing:
                ipr.addr("add", index=bridge, address=str(self.gateway),
                         prefixlen=self.pod_network.prefixlen)
            ipr.link("set", index=bridge, state="up")
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
            for cidr in (c.cluster_cidr, c.service_cidr):
                self._ensure_unreachable(ipr, cidr)
        netns.write_sysctl(c.netns, "net.ipv4.ip_forward", "1")
        if os.path.exists("/proc/sys/net/bridge"):   # br_netfilter is loaded (not by us)
            for family in ("iptables", "ip6tables", "arptables"):
                netns.write_sysctl(c.netns, f"net.bridge.bridge-nf-call-{family}", "0")
        # A redirect is sent when either the interface's or `all`'s setting is on:
        # all off, and `default` off for the pod veths still to come.
        for scope in ("all", "default", c.bridge):
            netns.write_sysctl(c.netns, f"net.ipv4.conf.{scope}.send_redirects", "0")
        nft.sync({TABLE: self.rules()}, netns=c.netns, owner=TABLE[1])

    def rules(self) -> str:
        cluster = self.config.cluster_cidr
        lines = [
            "chain forward {",
            "  type filter hook forward priority filter; policy accept;",
            f"  ip saddr {cluster} accept",
            f"  ip daddr {cluster} accept",
            "}",
        ]
        if self.config.masquerade:
            lines += [
                "chain postrouting {",
                "  type nat hook postrouting priority srcnat; policy accept;",
                f"  ip saddr {cluster} ip daddr != {cluster} masquerade",
                "}",
            ]
        return "\n".join(lines)

    def teardown(self) -> None:
        c = self.config
        with netns.route_socket(c.netns) as ipr:
            for index in ipr.link_lookup(ifname=c.bridge):
                ipr.link("del", index=index)
            for cidr in (c.cluster_cidr, c.service_cidr):
                if cidr in _unreachable_routes(ipr):
                    ipr.route("del", dst=cidr, type="unreachable", priority=UNREACHABLE_METRIC)
        nft.sync({}, netns=c.netns, owner=TABLE[1])

    def _ensure_bridge(self, ipr) -> int:
        c = self.config
        found = ipr.link_lookup(ifname=c.bridge)
        if not found:
            ipr.link("add", ifname=c.bridge, kind="bridge", mtu=c.mtu)
            found = ipr.link_lookup(ifname=c.bridge)
        return found[0]

    def _ensure_unreachable(self, ipr, cidr: str) -> None:
        if cidr not in _unreachable_routes(ipr):
            ipr.route("add", dst=cidr, type="unreachable", priority=UNREACHABLE_METRIC)


def _unreachable_routes(ipr) -> set[str]:
    """The destinations of the main table's unreachable routes, as CIDR strings."""
    found = set()
    for route in ipr.get_routes(family=socket.AF_INET, table=254):
        if route["type"] == RTN_UNREACHABLE:
            found.add(f"{route.get_attr('RTA_DST')}/{route['dst_len']}")
    return found
