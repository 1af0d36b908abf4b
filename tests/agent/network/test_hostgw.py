"""host-gw for real: three hand-made nodes on one switch, pods talking across them.

Nodes are network namespaces on a bridge (in a switch namespace of its own),
each with the agent's NodeNetwork and real pod sandboxes; addresses come from
TEST-NET-3 and exist only in these namespaces.
"""

import subprocess

import pytest
from fabric import Fabric
from netcheck import Listener, connect

from supernetes.agent.network.hostgw import RTPROT_SUPERNETES, HostGwBackend, Peer

pytestmark = [pytest.mark.root, pytest.mark.netns]


@pytest.fixture
def fabric(tmp_path):
    fabric = Fabric(tmp_path / "fabric")
    switch = fabric.switch("switch")
    for number in (1, 2, 3):
        fabric.node(f"n{number}", switch, f"203.0.113.1{number}/24", f"10.244.{number}.0/24")
    yield fabric
    fabric.close()


def peers_of(fabric, me):
    return [Peer(n.name, n.pod_cidr, n.address) for n in fabric.nodes.values() if n.name != me]


def routes(node):
    return subprocess.run(["nsenter", f"--net={node.netns}", "ip", "route", "show", "proto",
                           str(RTPROT_SUPERNETES)], capture_output=True, text=True).stdout


def test_pods_on_three_nodes_reach_each_other_with_their_own_source_addresses(fabric):
    for node in fabric.nodes.values():
        result = HostGwBackend(node.netns).sync(peers_of(fabric, node.name))
        assert sorted(result.added) == sorted(p.pod_cidr for p in peers_of(fabric, node.name))
    pods = [fabric.pod(node) for node in fabric.nodes.values()]
    for server in pods:
        with Listener(server.netns, port=8080):
            for client in pods:
                if client is not server:
                    # the listener answers with the address it saw: no NAT in between
                    assert connect(client.netns, server.ip, 8080) == client.ip


def test_without_routes_the_cluster_cidr_is_refused_at_once_not_leaked(fabric):
    a, b = fabric.pod(fabric.nodes["n1"]), fabric.pod(fabric.nodes["n2"])
    with Listener(b.netns, port=8080):
        answer = connect(a.netns, b.ip, 8080, timeout=5)
    assert answer == "error: [Errno 113] No route to host"  # the unreachable route, at once


def test_a_sync_adds_moves_and_removes_only_its_own_routes(fabric):
    n1 = fabric.nodes["n1"]
    subprocess.run(["nsenter", f"--net={n1.netns}", "ip", "route", "add", "192.0.2.0/24",
                    "via", "203.0.113.13"], check=True)   # someone else's route
    backend = HostGwBackend(n1.netns)
    backend.sync(peers_of(fabric, "n1"))
    assert "10.244.2.0/24 via 203.0.113.12" in routes(n1)

    moved = [Peer("n2", "10.244.2.0/24", "203.0.113.13")]   # n2's CIDR now behind n3
    result = backend.sync(moved)
    assert result.added == ["10.244.2.0/24"] and result.removed == ["10.244.3.0/24"]
    assert "10.244.2.0/24 via 203.0.113.13" in routes(n1)
    assert "10.244.3.0/24" not in routes(n1)
    assert backend.sync(moved).changed is False       # nothing to do the second time

    backend.teardown()
    assert routes(n1).strip() == ""
    others = subprocess.run(["nsenter", f"--net={n1.netns}", "ip", "route"],
                            capture_output=True, text=True).stdout
    assert "192.0.2.0/24 via 203.0.113.13" in others   # never touched


def test_a_peer_on_no_connected_network_is_reported_and_the_others_still_routed(fabric):
    n1 = fabric.nodes["n1"]
    peers = [*peers_of(fabric, "n1"), Peer("far", "10.244.9.0/24", "192.0.2.50")]
    result = HostGwBackend(n1.netns).sync(peers)
    assert sorted(result.added) == ["10.244.2.0/24", "10.244.3.0/24"]
    assert "far" in result.failed and "vxlan" in result.failed["far"]
    assert "10.244.9.0/24" not in routes(n1)
