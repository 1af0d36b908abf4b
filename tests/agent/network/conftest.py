"""Fixtures for pod networking: a node namespace of the test's own, wired and unwired."""

import subprocess
import uuid

import pytest

from supernetes.agent.network.ipam import HostLocalIPAM
from supernetes.agent.network.node import NodeNetwork, NodeNetworkConfig
from supernetes.agent.network.pod import PodNetworker
from supernetes.agent.sandbox import Sandboxes


@pytest.fixture
def node_netns():
    """A fresh network namespace standing in for the node: the host is never touched."""
    name = f"sn-node-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    yield f"/run/netns/{name}"
    subprocess.run(["ip", "netns", "delete", name], check=True)


@pytest.fixture
def node(node_netns):
    network = NodeNetwork(NodeNetworkConfig(pod_cidr="10.244.7.0/24", netns=node_netns))
    network.ensure()
    yield network
    network.teardown()


@pytest.fixture
def sandboxes(tmp_path):
    return Sandboxes(str(tmp_path / "run"))


@pytest.fixture
def pods(node, sandboxes, tmp_path):
    """Make wired pods by name; everything is unwired and removed afterwards."""
    networker = PodNetworker(node, HostLocalIPAM(str(tmp_path / "ipam"), node.config.pod_cidr))
    made = []

    def make(name: str, host_network: bool = False):
        uid = str(uuid.uuid4())
        sandbox = sandboxes.ensure(uid, hostname=name, host_network=host_network)
        made.append(uid)
        if host_network:
            return sandbox, None
        return sandbox, networker.attach(uid, sandbox.ns_path("net"))

    make.networker = networker
    yield make
    for uid in made:
        networker.detach(uid)
        sandboxes.remove(uid)
