"""The VXLAN backend: an overlay for nodes that share no L2 segment, like flannel's vxlan.

Each node gets one VXLAN device, `supervxlan0` (VNI 1, UDP port 8472 as flannel,
learning off), whose tunnel endpoint (VTEP) is the node's own address. The
device holds the network address of the node's pod CIDR (10.244.1.0/32). For
every peer node three entries tell the kernel how to reach that peer's pods:

    route   10.244.2.0/24 via 10.244.2.0 dev supervxlan0 onlink proto 83
            ("node-2's pods are behind node-2's VTEP address")
    neigh   10.244.2.0 lladdr 0a:58:0a:f4:02:00 dev supervxlan0 permanent
            (ARP answered in advance: that VTEP address has this MAC)
    fdb     0a:58:0a:f4:02:00 dev supervxlan0 dst 172.31.255.12 self permanent
            (frames for that MAC go in UDP to node-2's real address)

A pod's packet to 10.244.2.7 is routed into the device, framed for the peer's
VTEP MAC, and sent inside a UDP datagram from this node to the peer node, which
unwraps it and routes it onto its bridge. The inner packet keeps the pod's own
source address. Only the outer UDP packet must find its way between nodes, so
any routed network will do.

Where flannel publishes each node's VTEP MAC in a Node annotation, this backend
derives it from the node's pod CIDR (0a:58 followed by the four bytes of the
CIDR's network address, as OVN-Kubernetes derives MACs from IPs): every node can
compute every peer's entries from `spec.podCIDR` and the node address alone, so
there is nothing to publish and nothing to go stale.

The outer headers cost 50 bytes (IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14),
so the device's MTU is the uplink's minus 50, and pods on a VXLAN node should get
the same MTU (`pod_mtu`) so they never send what the tunnel cannot carry.

The tunnel's own UDP packets are not connection-tracked: a table
`ip supernetes-vxlan` marks them `notrack` where they enter and leave the node
(raw priority, before conntrack looks). Conntrack exists on a node for the pods'
traffic (a Service's NAT, policies, masquerade), and that traffic is tracked
once it is unwrapped, as it is with host-gw. Tracking the outer packets as well
cost a second conntrack lookup for every packet crossing nodes, and gave
nothing: no rule here NATs or filters node-to-node UDP by its state (an
untracked packet is neither `new` nor `established` to the proxy's and the
policies' checks, which look at pods' traffic).

Like host-gw, a sync adds what is missing and deletes its own stale entries
(routes by protocol number 83, neighbour and FDB entries by device), so a
crashed agent's leftovers are cleaned by the next one.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass

from . import netns, nft
from .hostgw import MAIN_TABLE, RTPROT_SUPERNETES, Peer, SyncResult

DEVICE = "supervxlan0"
TABLE = ("ip", "supernetes-vxlan")
VNI = 1
PORT = 8472            # flannel's (Linux's historic default); IANA's is 4789
OVERHEAD = 50
NUD_PERMANENT = 0x80   # <linux/neighbour.h>
NTF_SELF = 0x02
RTNH_F_ONLINK = 4


def vtep_address(pod_cidr: str) -> str:
    """The VTEP address of the node owning `pod_cidr`: its network address."""
    return str(ipaddress.ip_network(pod_cidr).network_address)


def vtep_mac(pod_cidr: str) -> str:
    """The VTEP MAC of the node owning `pod_cidr`: 0a:58 + the network address's bytes.

    0x0a has the "locally administered" bit set and the multicast bit clear, so
    it never collides with a vendor's MAC."""
    octets = ipaddress.ip_network(pod_cidr).network_address.packed
    return ":".join(f"{b:02x}" for b in (0x0A, 0x58, *octets))


def pod_mtu(uplink_mtu: int) -> int:
    return uplink_mtu - OVERHEAD


@dataclass(frozen=True)
class VxlanConfig:
    pod_cidr: str          # this node's
    node_ip: str           # this node's address: the local tunnel endpoint
    netns: str | None = None
    device: str = DEVICE
    vni: int = VNI
    port: int = PORT


class VxlanBackend:
    name = "vxlan"

    def __init__(self, config: VxlanConfig):
        self.config = config

    def setup(self) -> None:
        """Make the VXLAN device (or fix one that differs), with its address, up."""
        c = self.config
        with netns.route_socket(c.netns) as ipr:
            uplink = _link_with_address(ipr, c.node_ip)
            if uplink is None:
                raise OSError(errno.EADDRNOTAVAIL,
                              f"no interface holds the node address {c.node_ip}")
            mtu = pod_mtu(ipr.get_links(uplink)[0].get_attr("IFLA_MTU"))
            index = self._existing(ipr, uplink)
            if index is None:
                ipr.link("add", ifname=c.device, kind="vxlan", vxlan_id=c.vni,
                         vxlan_local=c.node_ip, vxlan_port=c.port, vxlan_learning=0,
                         vxlan_link=uplink, address=vtep_mac(c.pod_cidr), mtu=mtu)
                (index,) = ipr.link_lookup(ifname=c.device)
            address = vtep_address(c.pod_cidr)
            present = {a.get_attr("IFA_ADDRESS")
                       for a in ipr.get_addr(index=index, family=socket.AF_INET)}
            for stale in present - {address}:
                ipr.addr("del", index=index, address=stale, prefixlen=32)
            if address not in present:
                ipr.addr("add", index=index, address=address, prefixlen=32)
            ipr.link("set", index=index, state="up")
        nft.sync({TABLE: self.rules()}, netns=c.netns, owner=TABLE[1])

    def rules(self) -> str:
        """The notrack rules for the tunnel's packets to and from this node's VTEP."""
        c = self.config
        return "\n".join([
            "chain prerouting {",
            "  type filter hook prerouting priority raw; policy accept;",
            f"  ip daddr {c.node_ip} udp dport {c.port} notrack",
            "}",
            "chain output {",
            "  type filter hook output priority raw; policy accept;",
            f"  ip saddr {c.node_ip} udp dport {c.port} notrack",
            "}",
        ])

    def _existing(self, ipr, uplink: int) -> int | None:
        """The device's index if it exists as configured; a different one is deleted."""
        c = self.config
        found = ipr.link_lookup(ifname=c.device)
        if not found:
            return None
        link = ipr.get_links(found[0])[0]
        info = link.get_attr("IFLA_LINKINFO")
        data = info.get_attr("IFLA_INFO_DATA") if info else None
        same = (info is not None and info.get_attr("IFLA_INFO_KIND") == "vxlan"
                and data is not None
                and data.get_attr("IFLA_VXLAN_ID") == c.vni
                and data.get_attr("IFLA_VXLAN_LOCAL") == c.node_ip
                and data.get_attr("IFLA_VXLAN_PORT") == c.port
                and data.get_attr("IFLA_VXLAN_LINK") == uplink
                and link.get_attr("IFLA_ADDRESS") == vtep_mac(c.pod_cidr))
        if same:
            return found[0]
        ipr.link("del", index=found[0])  # its routes, neighbours and FDB go with it
        return None

    def sync(self, peers: list[Peer]) -> SyncResult:
        c = self.config
        result = SyncResult()
        with netns.route_socket(c.netns) as ipr:
            found = ipr.link_lookup(ifname=c.device)
            if not found:
                raise OSError(errno.ENODEV, f"{c.device} is missing (setup() first)")
            index = found[0]
            wanted = {peer.pod_cidr: peer for peer in peers}
            routes = _routes_on(ipr, index)
            for cidr in routes:
                if cidr not in wanted:
                    ipr.route("del", dst=cidr, oif=index, proto=RTPROT_SUPERNETES,
                              table=MAIN_TABLE)
                    result.removed.append(cidr)
            neighbours = _neighbours_on(ipr, index)
            fdb = _fdb_on(ipr, index)
            wanted_macs = {vtep_mac(cidr) for cidr in wanted}
            wanted_vteps = {vtep_address(cidr) for cidr in wanted}
            for address in set(neighbours) - wanted_vteps:
                ipr.neigh("del", dst=address, ifindex=index)
            for mac in set(fdb) - wanted_macs:
                ipr.fdb("del", ifindex=index, lladdr=mac, dst=fdb[mac])
            for cidr, peer in wanted.items():
                mac, vtep = vtep_mac(cidr), vtep_address(cidr)
                fresh = False
                if fdb.get(mac) != peer.node_ip:
                    if mac in fdb:
                        ipr.fdb("del", ifindex=index, lladdr=mac, dst=fdb[mac])
                    ipr.fdb("append", ifindex=index, lladdr=mac, dst=peer.node_ip,
                            state=NUD_PERMANENT, flags=NTF_SELF)
                    fresh = True
                if neighbours.get(vtep) != mac:
                    ipr.neigh("replace", dst=vtep, lladdr=mac, ifindex=index,
                              state=NUD_PERMANENT)
                    fresh = True
                if cidr not in routes:
                    ipr.route("replace", dst=cidr, gateway=vtep, oif=index,
                              flags=RTNH_F_ONLINK, proto=RTPROT_SUPERNETES, table=MAIN_TABLE)
                    fresh = True
                if fresh:
                    result.added.append(cidr)
        return result

    def teardown(self) -> None:
        with netns.route_socket(self.config.netns) as ipr:
            for index in ipr.link_lookup(ifname=self.config.device):
                ipr.link("del", index=index)
        nft.sync({}, netns=self.config.netns, owner=TABLE[1])


def _link_with_address(ipr, address: str) -> int | None:
    for entry in ipr.get_addr(family=socket.AF_INET):
        if entry.get_attr("IFA_ADDRESS") == address:
            return entry["index"]
    return None


def _routes_on(ipr, index: int) -> set[str]:
    return {f"{r.get_attr('RTA_DST')}/{r['dst_len']}"
            for r in ipr.get_routes(family=socket.AF_INET, table=MAIN_TABLE)
            if r["proto"] == RTPROT_SUPERNETES and r.get_attr("RTA_OIF") == index}


def _neighbours_on(ipr, index: int) -> dict[str, str]:
    """Permanent ARP entries on the device: VTEP address -> MAC."""
    return {n.get_attr("NDA_DST"): n.get_attr("NDA_LLADDR")
            for n in ipr.get_neighbours(family=socket.AF_INET, ifindex=index)
            if n["state"] & NUD_PERMANENT and n.get_attr("NDA_LLADDR")}


def _fdb_on(ipr, index: int) -> dict[str, str]:
    """The device's unicast FDB entries with a remote: MAC -> peer node address."""
    found = {}
    for entry in ipr.get_neighbours(family=socket.AF_BRIDGE, ifindex=index):
        mac, dst = entry.get_attr("NDA_LLADDR"), entry.get_attr("NDA_DST")
        if mac and dst and mac != "00:00:00:00:00:00":
            found[mac] = dst
    return found
