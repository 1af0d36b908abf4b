"""Pod networking on one node, for real: gateway, routed veth pairs, routes, masquerade.

Every test runs in a node namespace of its own (the `node_netns` fixture), so the
machine's own network is never touched; addresses outside the cluster come from
TEST-NET-2 (198.51.100.0/24), and exist only inside the test's namespaces.
"""

import ipaddress
import os
import subprocess

import pytest
from netcheck import Listener, connect

from supernetes.agent.network import nft
from supernetes.agent.network import node as node_mod
from supernetes.agent.network.netns import route_socket

pytestmark = [pytest.mark.root, pytest.mark.netns]


def ip(netns, *args):
    return subprocess.run(["ip", "-n", netns.rsplit("/", 1)[1], *args], check=True,
                          capture_output=True, text=True).stdout


def test_node_gets_bridge_gateway_forwarding_unreachable_routes_and_masquerade(node):
    netns = node.config.netns
    assert "10.244.7.1/24" in ip(netns, "-o", "addr", "show", "super0")
    assert "state UP" in ip(netns, "link", "show", "super0") or "UP" in ip(
        netns, "-o", "link", "show", "super0")
    routes = ip(netns, "route", "show", "table", "main")
    assert "unreachable 10.244.0.0/16" in routes
    assert "unreachable 10.96.0.0/12" in routes
    forward = subprocess.run(["nsenter", f"--net={netns}", "cat",
                              "/proc/sys/net/ipv4/ip_forward"], capture_output=True, text=True)
    assert forward.stdout.strip() == "1"
    table = nft.list_table("ip", "supernetes-node", netns=netns)
    assert "ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 masquerade" in table
    node.ensure()  # idempotent: a second run changes nothing and does not fail
    assert ip(netns, "-o", "addr", "show", "super0").count("10.244.7.1/24") == 1
    assert ip(netns, "route", "show", "table", "main").count("unreachable") == 2


def test_teardown_removes_everything_the_node_setup_made(node_netns):
    network = node_mod.NodeNetwork(node_mod.NodeNetworkConfig(pod_cidr="10.244.8.0/24",
                                                              netns=node_netns))
    network.ensure()
    network.teardown()
    assert "super0" not in ip(node_netns, "-o", "link")
    assert "unreachable" not in ip(node_netns, "route", "show", "table", "main")
    assert nft.owned_tables(node_netns) == set()


def test_pods_on_one_node_reach_each_other_with_their_own_source_address(pods):
    a, net_a = pods("web-a")
    b, net_b = pods("web-b")
    assert net_a.ip != net_b.ip
    assert ipaddress.ip_address(net_a.ip) in ipaddress.ip_network("10.244.7.0/24")
    with Listener(a.ns_path("net")):
        assert connect(b.ns_path("net"), net_a.ip) == net_b.ip


def test_pods_on_one_node_are_routed_by_the_node_not_switched_by_the_bridge(node, pods):
    a, net_a = pods("web-a")
    b, net_b = pods("web-b")
    with Listener(a.ns_path("net")):
        assert connect(b.ns_path("net"), net_a.ip) == net_b.ip
    # b only ever talked to its gateway at layer 2: a's address went through the node
    neighbours = subprocess.run(["nsenter", f"--net={b.ns_path('net')}", "ip", "-4", "neigh"],
                                capture_output=True, text=True, check=True).stdout
    assert "10.244.7.1 " in neighbours and f"{net_a.ip} " not in neighbours
    # so the node needs no bridge netfilter (where the kernel has it at all)
    flag = "/proc/sys/net/bridge/bridge-nf-call-iptables"
    if os.path.exists(flag):
        shown = subprocess.run(["nsenter", f"--net={node.config.netns}", "cat", flag],
                               capture_output=True, text=True, check=True).stdout
        assert shown.strip() == "0"


def test_a_pods_veth_is_a_routed_interface_with_a_host_route_not_a_bridge_port(node, pods):
    a, net_a = pods("web-a")
    netns = node.config.netns
    assert "master" not in ip(netns, "-o", "link", "show", net_a.host_veth)
    assert "master super0" not in ip(netns, "-o", "link")
    route = ip(netns, "route", "get", net_a.ip)
    assert f"dev {net_a.host_veth} src 10.244.7.1" in route, route
    # the pod knows its gateway's MAC (the node end's) without asking for it
    b, net_b = pods("web-b")
    mac = ip(netns, "-o", "link", "show", net_b.host_veth).split("link/ether ")[1].split()[0]
    neighbours = subprocess.run(["nsenter", f"--net={b.ns_path('net')}", "ip", "-4", "neigh"],
                                capture_output=True, text=True, check=True).stdout
    assert f"10.244.7.1 dev eth0 lladdr {mac} PERMANENT" in neighbours, neighbours
    with Listener(a.ns_path("net")):
        assert connect(b.ns_path("net"), net_a.ip) == net_b.ip
    pods.networker.detach(a.uid)        # the host route goes with the veth
    assert net_a.host_veth not in ip(netns, "route", "show", "table", "main")


def test_pods_reach_their_gateway_where_the_node_answers_arp_only_for_its_own_link(node, pods):
    # arp_ignore 2 (as IPVS setups have it, for all links): the node end, holding no
    # address, would answer no ARP for the gateway.
    subprocess.run(["nsenter", f"--net={node.config.netns}", "sysctl", "-q", "-w",
                    "net.ipv4.conf.all.arp_ignore=2"], check=True)
    a, net_a = pods("web-a")
    b, net_b = pods("web-b")
    with Listener(a.ns_path("net")):
        assert connect(b.ns_path("net"), net_a.ip) == net_b.ip
        assert connect(node.config.netns, net_a.ip) == "10.244.7.1"


def test_a_pod_wired_to_the_bridge_by_an_older_agent_is_rewired_as_a_routed_one(node, pods):
    a, net_a = pods("web-a")
    netns = node.config.netns
    ip(netns, "route", "del", f"{net_a.ip}/32")
    ip(netns, "link", "set", net_a.host_veth, "master", "super0")
    rewired = pods.networker.attach(a.uid, a.ns_path("net"))
    assert rewired == net_a
    assert "master" not in ip(netns, "-o", "link", "show", net_a.host_veth)
    assert f"dev {net_a.host_veth}" in ip(netns, "route", "get", net_a.ip)
    with Listener(a.ns_path("net")):
        assert connect(netns, net_a.ip) == "10.244.7.1"


def test_the_node_reaches_its_pods_from_the_gateway_address(node, pods):
    a, net_a = pods("web-a")
    with Listener(a.ns_path("net")):
        assert connect(node.config.netns, net_a.ip) == "10.244.7.1"


def test_a_pod_sees_eth0_lo_its_default_route_and_its_own_hostname(pods):
    a, net_a = pods("web-a")
    inside = subprocess.run(["nsenter", f"--net={a.ns_path('net')}", "ip", "-o", "addr"],
                            capture_output=True, text=True, check=True).stdout
    assert f"eth0    inet {net_a.ip}/32" in inside
    assert "lo    inet 127.0.0.1/8" in inside
    route = subprocess.run(["nsenter", f"--net={a.ns_path('net')}", "ip", "route"],
                           capture_output=True, text=True, check=True).stdout
    (default,) = [line for line in route.splitlines() if line.startswith("default")]
    assert default.startswith("default via 10.244.7.1 dev eth0") and "onlink" in default
    hostname = subprocess.run(["nsenter", f"--uts={a.ns_path('uts')}", "hostname"],
                              capture_output=True, text=True, check=True).stdout
    assert hostname.strip() == "web-a"


@pytest.fixture
def outside(node):
    """A host beyond the node's default route, in a namespace of its own."""
    name = node.config.netns.rsplit("/", 1)[1] + "-out"
    subprocess.run(["ip", "netns", "add", name], check=True)
    node_name = node.config.netns.rsplit("/", 1)[1]
    subprocess.run(["ip", "-n", node_name, "link", "add", "snup0", "type", "veth", "peer",
                    "name", "eth0", "netns", name], check=True)
    ip(node.config.netns, "addr", "add", "198.51.100.1/24", "dev", "snup0")
    ip(node.config.netns, "link", "set", "snup0", "up")
    ip(node.config.netns, "route", "add", "default", "via", "198.51.100.2")
    ip(f"/run/netns/{name}", "addr", "add", "198.51.100.2/24", "dev", "eth0")
    ip(f"/run/netns/{name}", "link", "set", "eth0", "up")
    yield f"/run/netns/{name}"
    subprocess.run(["ip", "netns", "delete", name], check=True)


def test_traffic_leaving_the_cluster_is_masqueraded_to_the_node_address(pods, outside):
    a, _ = pods("web-a")
    with Listener(outside):
        assert connect(a.ns_path("net"), "198.51.100.2") == "198.51.100.1"


def test_unknown_pod_and_service_addresses_are_refused_not_sent_to_the_default_route(
        node, pods, outside):
    a, _ = pods("web-a")
    with Listener(outside, port=8080):
        for address in ("10.244.99.9", "10.96.0.10"):
            answer = connect(a.ns_path("net"), address, timeout=2)
            assert answer.startswith("error:"), answer
            assert "unreachable" in answer.lower() or "no route" in answer.lower(), answer
        lookup = subprocess.run(["nsenter", f"--net={node.config.netns}", "ip", "route", "get",
                                 "10.244.99.9"], capture_output=True, text=True)
        assert lookup.returncode != 0
        assert "No route to host" in lookup.stderr
        assert "via 198.51.100.2" in ip(node.config.netns, "route", "get", "192.0.2.1")


def test_attach_is_reentrant_and_rewires_a_half_wired_pod(pods):
    a, net_a = pods("web-a")
    again = pods.networker.attach(a.uid, a.ns_path("net"))
    assert again == net_a
    with route_socket(a.ns_path("net")) as ipr:  # the agent died half-way: eth0 gone
        ipr.link("del", index=ipr.link_lookup(ifname="eth0")[0])
    rewired = pods.networker.attach(a.uid, a.ns_path("net"))
    assert rewired.ip == net_a.ip
    b, _ = pods("web-b")
    with Listener(a.ns_path("net")):
        assert connect(b.ns_path("net"), net_a.ip) != ""


def test_detach_removes_the_veth_pair_and_frees_the_address(node, pods):
    a, net_a = pods("web-a")
    assert net_a.host_veth in ip(node.config.netns, "-o", "link")
    pods.networker.detach(a.uid)
    assert net_a.host_veth not in ip(node.config.netns, "-o", "link")
    assert pods.networker.lookup(a.uid) is None
    pods.networker.detach(a.uid)  # idempotent


def test_a_host_network_pod_has_no_network_namespace_of_its_own(pods):
    sandbox, network = pods("host-pod", host_network=True)
    assert network is None
    assert sandbox.ns_path("net") is None
    hostname = subprocess.run(["nsenter", f"--uts={sandbox.ns_path('uts')}", "hostname"],
                              capture_output=True, text=True, check=True).stdout
    assert hostname.strip() == "host-pod"
