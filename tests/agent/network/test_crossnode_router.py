"""The cross-node router follows the Nodes in a real API server and keeps routes right.

Three hand-made nodes on one switch (fabric.py) each run a `CrossNodeRouter`
against a real `supernetes server`; the test plays the control plane's part by
writing the Node objects (pod CIDR, address, Ready) with the admin client.
"""

import contextlib
import subprocess
import time
import uuid

import pytest
from apiserverkit import ApiServer
from fabric import Fabric
from netcheck import Listener, connect

from supernetes.agent.network.crossnode import CrossNodeRouter, make_backend
from supernetes.agent.network.hostgw import RTPROT_SUPERNETES
from supernetes.controlplane.client import AlreadyExists, Client, NotFound

pytestmark = [pytest.mark.root, pytest.mark.netns]


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    server = ApiServer(tmp_path_factory.mktemp("routes-apiserver") / "data")
    server.start()
    client = Client.from_kubeconfig(str(server.kubeconfig))
    yield client
    client.close()
    server.stop()


def put_node(admin, name, cidr, address, ready="True"):
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}
    try:
        node = admin.create(body)
    except AlreadyExists:
        node = admin.get("v1", "Node", name)
    node["status"] = {"addresses": [{"type": "InternalIP", "address": address}],
                      "conditions": [{"type": "Ready", "status": ready, "reason": "Test"}]}
    admin.replace_status(node)


def routes(node) -> str:
    return subprocess.run(["nsenter", f"--net={node.netns}", "ip", "route", "show", "proto",
                           str(RTPROT_SUPERNETES)], capture_output=True, text=True).stdout


def eventually(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.fixture
def cluster(admin, tmp_path):
    fabric = Fabric(tmp_path / "fabric")
    suffix = uuid.uuid4().hex[:6]
    names = [f"rt-{suffix}-{number}" for number in (1, 2, 3)]
    routers = []
    try:
        switch = fabric.switch("switch")
        for number, name in enumerate(names, start=1):
            fabric.node(name, switch, f"203.0.113.1{number}/24", f"10.244.{number}.0/24")
            put_node(admin, name, f"10.244.{number}.0/24", f"203.0.113.1{number}")
        for node in fabric.nodes.values():
            backend = make_backend("host-gw", pod_cidr=node.pod_cidr, node_ip=node.address,
                                   netns=node.netns)
            router = CrossNodeRouter(admin, backend, node.name, resync_interval=0.5)
            router.start()
            routers.append(router)
        yield fabric, names
    finally:
        for router in routers:
            router.stop()
            router.cleanup()
        for name in [*names, "rt-extra"]:
            with contextlib.suppress(NotFound):
                admin.delete("v1", "Node", name)
        fabric.close()


def test_routes_to_every_peer_are_in_place_when_start_returns(cluster):
    fabric, names = cluster
    n1 = fabric.nodes[names[0]]
    table = routes(n1)
    assert "10.244.2.0/24 via 203.0.113.12" in table
    assert "10.244.3.0/24 via 203.0.113.13" in table
    assert "10.244.1.0/24" not in table            # never a route to itself


def test_pods_reach_each_other_across_the_routed_nodes(cluster):
    fabric, names = cluster
    a = fabric.pod(fabric.nodes[names[0]])
    c = fabric.pod(fabric.nodes[names[2]])
    with Listener(c.netns, port=8080):
        assert connect(a.netns, c.ip, 8080) == a.ip


def test_nodes_joining_leaving_and_getting_lost_change_every_nodes_routes(admin, cluster):
    fabric, names = cluster
    n1, n2 = fabric.nodes[names[0]], fabric.nodes[names[1]]
    put_node(admin, "rt-extra", "10.244.4.0/24", "203.0.113.14")
    assert eventually(lambda: "10.244.4.0/24 via 203.0.113.14" in routes(n1)
                      and "10.244.4.0/24 via 203.0.113.14" in routes(n2))

    put_node(admin, names[2], "10.244.3.0/24", "203.0.113.13", ready="Unknown")
    assert eventually(lambda: "10.244.3.0/24" not in routes(n1))
    put_node(admin, names[2], "10.244.3.0/24", "203.0.113.13", ready="False")
    assert eventually(lambda: "10.244.3.0/24 via 203.0.113.13" in routes(n1))

    admin.delete("v1", "Node", "rt-extra")
    assert eventually(lambda: "10.244.4.0/24" not in routes(n1)
                      and "10.244.4.0/24" not in routes(n2))


def test_a_route_deleted_by_hand_comes_back_at_the_next_resync(cluster):
    fabric, names = cluster
    n1 = fabric.nodes[names[0]]
    subprocess.run(["nsenter", f"--net={n1.netns}", "ip", "route", "del", "10.244.2.0/24"],
                   check=True)
    assert eventually(lambda: "10.244.2.0/24 via 203.0.113.12" in routes(n1), timeout=3)
