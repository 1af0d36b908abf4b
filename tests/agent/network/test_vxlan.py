"""The VXLAN overlay for real: nodes on two subnets behind a router, where host-gw cannot go.

    n1 203.0.113.11/24 --[switch a]-- router --[switch b]-- n2 198.51.100.12/24

Only the outer UDP packets cross the router; the pods' packets inside them keep
their own addresses. Addresses come from TEST-NET ranges, inside these
namespaces only.
"""

import subprocess
import sys

import pytest
from fabric import Fabric
from netcheck import Listener, connect

from supernetes.agent.network import nft
from supernetes.agent.network.hostgw import HostGwBackend, Peer
from supernetes.agent.network.vxlan import DEVICE, TABLE, VxlanBackend, VxlanConfig

pytestmark = [pytest.mark.root, pytest.mark.netns]


@pytest.fixture
def routed(tmp_path):
    fabric = Fabric(tmp_path / "fabric")
    a, b = fabric.switch("switch-a"), fabric.switch("switch-b")
    fabric.router("router", {a: "203.0.113.1/24", b: "198.51.100.1/24"})
    fabric.node("n1", a, "203.0.113.11/24", "10.244.1.0/24", gateway="203.0.113.1",
                mtu=1450)
    fabric.node("n2", b, "198.51.100.12/24", "10.244.2.0/24", gateway="198.51.100.1",
                mtu=1450)
    yield fabric
    fabric.close()


def vxlan(node):
    return VxlanBackend(VxlanConfig(pod_cidr=node.pod_cidr, node_ip=node.address,
                                    netns=node.netns))


def peer(node):
    return Peer(node.name, node.pod_cidr, node.address)


def ip(node, *args):
    return subprocess.run(["nsenter", f"--net={node.netns}", "ip", *args],
                          capture_output=True, text=True, check=True).stdout


def test_pods_reach_each_other_through_the_overlay_across_a_router(routed):
    n1, n2 = routed.nodes["n1"], routed.nodes["n2"]
    for node, other in ((n1, n2), (n2, n1)):
        backend = vxlan(node)
        backend.setup()
        assert backend.sync([peer(other)]).added == [other.pod_cidr]
    a, b = routed.pod(n1), routed.pod(n2)
    with Listener(b.netns, port=8080):
        assert connect(a.netns, b.ip, 8080) == a.ip
    with Listener(a.netns, port=9090):
        assert connect(b.netns, a.ip, 9090) == b.ip
    # full-size frames fit the tunnel: a megabyte arrives whole
    assert transfer(a, b, 2**20) == 2**20


SINK = r"""
import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 7000)); s.listen(1)
print("ready", flush=True)
c, _ = s.accept(); n = 0
while chunk := c.recv(65536):
    n += len(chunk)
print(n, flush=True)
"""
SOURCE = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], 7000), timeout=10)
c.sendall(b"x" * int(sys.argv[2])); c.close()
"""


def transfer(a, b, size: int) -> int:
    sink = subprocess.Popen(["nsenter", f"--net={b.netns}", sys.executable, "-c", SINK, b.ip],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout.readline().strip() == "ready"
        subprocess.run(["nsenter", f"--net={a.netns}", sys.executable, "-c", SOURCE, b.ip,
                        str(size)], check=True, timeout=30)
        return int(sink.stdout.readline())
    finally:
        sink.kill()
        sink.wait()
        sink.stdout.close()


def test_host_gw_cannot_route_across_the_router_and_says_so(routed):
    n1, n2 = routed.nodes["n1"], routed.nodes["n2"]
    result = HostGwBackend(n1.netns).sync([peer(n2)])
    assert result.added == [] and "not on a directly connected network" in result.failed["n2"]


def test_device_entries_and_teardown(routed):
    n1, n2 = routed.nodes["n1"], routed.nodes["n2"]
    backend = vxlan(n1)
    backend.setup()
    backend.setup()   # idempotent
    details = ip(n1, "-d", "link", "show", DEVICE)
    assert "vxlan id 1" in details and "local 203.0.113.11" in details
    assert "dstport 8472" in details and "nolearning" in details
    assert "mtu 1450" in details and "0a:58:0a:f4:01:00" in details
    assert "10.244.1.0/32" in ip(n1, "-o", "addr", "show", DEVICE)

    backend.sync([peer(n2)])
    assert "10.244.2.0/24 via 10.244.2.0 dev supervxlan0" in ip(n1, "route")
    assert "10.244.2.0 lladdr 0a:58:0a:f4:02:00 PERMANENT" in ip(n1, "neigh", "show", "dev",
                                                                 DEVICE)
    fdb = subprocess.run(["nsenter", f"--net={n1.netns}", "bridge", "fdb", "show", "dev",
                          DEVICE], capture_output=True, text=True).stdout
    assert "0a:58:0a:f4:02:00 dst 198.51.100.12" in fdb

    moved = Peer("n2", "10.244.2.0/24", "198.51.100.99")  # the peer got a new address
    assert backend.sync([moved]).added == ["10.244.2.0/24"]
    fdb = subprocess.run(["nsenter", f"--net={n1.netns}", "bridge", "fdb", "show", "dev",
                          DEVICE], capture_output=True, text=True).stdout
    assert "dst 198.51.100.99" in fdb and "dst 198.51.100.12" not in fdb

    assert backend.sync([]).removed == ["10.244.2.0/24"]
    assert "10.244.2.0" not in ip(n1, "route")
    assert "10.244.2.0" not in ip(n1, "neigh", "show", "dev", DEVICE)

    backend.teardown()
    assert DEVICE not in ip(n1, "-o", "link")
    assert nft.owned_tables(n1.netns, TABLE[1]) == set()


def conntrack(node) -> str:
    return subprocess.run(["nsenter", f"--net={node.netns}", "conntrack", "-L"],
                          capture_output=True, text=True, check=True).stdout


def test_the_pods_connection_is_tracked_on_the_nodes_and_the_tunnel_packets_are_not(routed):
    n1, n2 = routed.nodes["n1"], routed.nodes["n2"]
    for node, other in ((n1, n2), (n2, n1)):
        backend = vxlan(node)
        backend.setup()
        backend.sync([peer(other)])
    a, b = routed.pod(n1), routed.pod(n2)
    with Listener(b.netns, port=8080):
        assert connect(a.netns, b.ip, 8080) == a.ip
    for node in (n1, n2):
        table = conntrack(node)
        assert f"src={a.ip} dst={b.ip}" in table and "dport=8080" in table
        assert "dport=8472" not in table   # the outer UDP: never tracked


def test_a_device_made_with_other_settings_is_replaced(routed):
    n1 = routed.nodes["n1"]
    subprocess.run(["nsenter", f"--net={n1.netns}", "ip", "link", "add", DEVICE, "type",
                    "vxlan", "id", "42", "dstport", "4789", "local", "203.0.113.11"],
                   check=True)
    backend = vxlan(n1)
    backend.setup()
    details = ip(n1, "-d", "link", "show", DEVICE)
    assert "vxlan id 1 " in details and "dstport 8472" in details
    backend.teardown()
