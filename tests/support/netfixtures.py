"""Fixtures shared by the service-proxy and network-policy tests.

A real API server (`supernetes server` on loopback) and a client for it; a node
network namespace of the test's own (held by a file under the test's tmp, see
proxykit.make_netns) with the agent's NodeNetwork (bridge super0,
10.244.7.1/24, masquerade, no bridge netfilter); real pod sandboxes wired by the
agent's PodNetworker; and `outside`, a host beyond the node's uplink (TEST-NET-2
addresses, which exist only in these namespaces). A conftest imports them by
name to use them.
"""

from __future__ import annotations

import os
import uuid

import pytest
from apiserverkit import ApiServer
from proxykit import UPLINK_NODE, UPLINK_OUTSIDE, in_netns, make_netns, remove_netns

from supernetes.agent.network.ipam import HostLocalIPAM
from supernetes.agent.network.netns import route_socket
from supernetes.agent.network.node import NodeNetwork, NodeNetworkConfig
from supernetes.agent.network.pod import PodNetworker
from supernetes.agent.sandbox import Sandboxes
from supernetes.controlplane.client import Client


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory):
    server = ApiServer(tmp_path_factory.mktemp("proxy-apiserver") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(apiserver):
    c = Client.from_kubeconfig(str(apiserver.kubeconfig))
    yield c
    c.close()


@pytest.fixture
def ns(client):
    """A namespace of the test's own in the API."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    client.delete("v1", "Namespace", name)


@pytest.fixture
def node(tmp_path):
    netns = make_netns(tmp_path / "node.netns")
    network = NodeNetwork(NodeNetworkConfig(pod_cidr="10.244.7.0/24", netns=netns))
    network.ensure()
    yield network
    network.teardown()
    remove_netns(netns)


@pytest.fixture
def pods(node, tmp_path):
    """Make wired pods by name: (sandbox, PodNetwork); all removed afterwards."""
    sandboxes = Sandboxes(str(tmp_path / "run"))
    networker = PodNetworker(node, HostLocalIPAM(str(tmp_path / "ipam"), node.config.pod_cidr))
    made = []

    def make(name: str):
        uid = str(uuid.uuid4())
        sandbox = sandboxes.ensure(uid, hostname=name)
        made.append(uid)
        return sandbox, networker.attach(uid, sandbox.ns_path("net"))

    yield make
    for uid in made:
        networker.detach(uid)
        sandboxes.remove(uid)
    networker.close()  # it keeps one netlink socket to the node open


@pytest.fixture
def outside(node, tmp_path):
    """A host beyond the node's uplink: node 198.51.100.1 <-veth-> 198.51.100.2."""
    netns = make_netns(tmp_path / "outside.netns")
    fd = os.open(netns, os.O_RDONLY)
    try:
        with route_socket(node.config.netns) as ipr:
            ipr.link("add", ifname="snup0", kind="veth", peer={"ifname": "eth0",
                                                               "net_ns_fd": fd})
    finally:
        os.close(fd)
    in_netns(node.config.netns, "ip", "addr", "add", f"{UPLINK_NODE}/24", "dev", "snup0")
    in_netns(node.config.netns, "ip", "link", "set", "snup0", "up")
    in_netns(netns, "ip", "addr", "add", f"{UPLINK_OUTSIDE}/24", "dev", "eth0")
    in_netns(netns, "ip", "link", "set", "eth0", "up")
    yield netns
    remove_netns(netns)
