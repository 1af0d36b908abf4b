"""Hand-made nodes for the cross-node routing tests: namespaces, a switch, a router, pods.

    Fabric(tmp)
      .switch(name)                 a namespace holding one bridge: an L2 segment
      .node(name, switch, address, pod_cidr, gateway=None)
                                    a node namespace whose eth0 plugs into that switch,
                                    with the agent's NodeNetwork (bridge super0, rules)
      .router(name, {switch: address, ...})
                                    a namespace forwarding between segments
      .pod(node)                    a real pod sandbox wired by the agent's PodNetworker
      .close()                      removes everything, in reverse order

Every namespace is held by a file under the test's tmp dir (never /run/netns,
which other test sessions' leak checks watch), so nothing here is visible to
the machine's own network. Addresses come from TEST-NET ranges and exist only
inside these namespaces.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from proxykit import in_netns, make_netns, remove_netns

from supernetes.agent.network.ipam import HostLocalIPAM
from supernetes.agent.network.netns import route_socket
from supernetes.agent.network.node import NodeNetwork, NodeNetworkConfig
from supernetes.agent.network.pod import PodNetworker
from supernetes.agent.sandbox import Sandboxes


@dataclass
class Node:
    name: str
    netns: str
    address: str
    pod_cidr: str
    network: NodeNetwork
    networker: PodNetworker


@dataclass
class Pod:
    uid: str
    node: Node
    netns: str
    ip: str


class Fabric:
    def __init__(self, tmp: Path):
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.sandboxes = Sandboxes(str(self.tmp / "run"))
        self.namespaces: list[str] = []
        self.nodes: dict[str, Node] = {}
        self.pods: list[Pod] = []

    def _netns(self, name: str) -> str:
        path = make_netns(self.tmp / f"{name}.netns")
        self.namespaces.append(path)
        return path

    def switch(self, name: str) -> str:
        path = self._netns(name)
        in_netns(path, "ip", "link", "add", "br0", "type", "bridge")
        in_netns(path, "ip", "link", "set", "br0", "up")
        return path

    def plug(self, switch: str, netns: str, port: str, ifname: str, address: str,
             mtu: int = 1500) -> None:
        """A veth from the switch's bridge (port `port`) into `netns` as `ifname`."""
        fd = os.open(netns, os.O_RDONLY)
        try:
            with route_socket(switch) as ipr:
                ipr.link("add", ifname=port, kind="veth", mtu=mtu,
                         peer={"ifname": ifname, "net_ns_fd": fd, "mtu": mtu})
                (index,) = ipr.link_lookup(ifname=port)
                (bridge,) = ipr.link_lookup(ifname="br0")
                ipr.link("set", index=index, master=bridge, state="up")
        finally:
            os.close(fd)
        in_netns(netns, "ip", "addr", "add", address, "dev", ifname)
        in_netns(netns, "ip", "link", "set", ifname, "up")

    def node(self, name: str, switch: str, address: str, pod_cidr: str,
             gateway: str | None = None, mtu: int = 1500) -> Node:
        """`address` with its prefix (203.0.113.11/24); `gateway` for routed fabrics."""
        netns = self._netns(name)
        self.plug(switch, netns, f"p-{name}"[:15], "eth0", address)
        if gateway:
            in_netns(netns, "ip", "route", "add", "default", "via", gateway)
        network = NodeNetwork(NodeNetworkConfig(pod_cidr=pod_cidr, netns=netns, mtu=mtu))
        network.ensure()
        networker = PodNetworker(network, HostLocalIPAM(str(self.tmp / f"ipam-{name}"),
                                                        pod_cidr))
        node = Node(name, netns, address.split("/")[0], pod_cidr, network, networker)
        self.nodes[name] = node
        return node

    def router(self, name: str, legs: dict[str, str]) -> str:
        netns = self._netns(name)
        for number, (switch, address) in enumerate(legs.items()):
            self.plug(switch, netns, f"r-{name}{number}"[:15], f"eth{number}", address)
        in_netns(netns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        return netns

    def pod(self, node: Node) -> Pod:
        uid = str(uuid.uuid4())
        sandbox = self.sandboxes.ensure(uid, hostname=f"pod-{uid[:6]}")
        wired = node.networker.attach(uid, sandbox.ns_path("net"))
        pod = Pod(uid, node, sandbox.ns_path("net"), wired.ip)
        self.pods.append(pod)
        return pod

    def close(self) -> None:
        for pod in reversed(self.pods):
            pod.node.networker.detach(pod.uid)
            self.sandboxes.remove(pod.uid)
        for node in self.nodes.values():
            node.network.teardown()
            close = getattr(node.networker, "close", None)
            if close is not None:
                close()
        for path in reversed(self.namespaces):
            remove_netns(path)
