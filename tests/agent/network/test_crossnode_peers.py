"""Which nodes get a route: `desired_peers` and `make_backend`, pure functions (no root)."""

import pytest

from supernetes.agent.network.crossnode import desired_peers, make_backend, node_address
from supernetes.agent.network.hostgw import HostGwBackend, Peer
from supernetes.agent.network.vxlan import VxlanBackend, pod_mtu, vtep_address, vtep_mac


def node(name, cidr="10.244.2.0/24", ip="172.31.255.12", ready="True", addresses=None):
    status = {"addresses": addresses if addresses is not None else
              [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": ip}]}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready}]
    return {"metadata": {"name": name}, "spec": {"podCIDR": cidr} if cidr else {},
            "status": status}


def test_every_other_node_with_a_cidr_and_an_address_is_a_peer_sorted_by_name():
    nodes = [node("c", "10.244.3.0/24", "172.31.255.13"), node("me", "10.244.1.0/24"),
             node("b", "10.244.2.0/24", "172.31.255.12")]
    assert desired_peers(nodes, "me") == [Peer("b", "10.244.2.0/24", "172.31.255.12"),
                                          Peer("c", "10.244.3.0/24", "172.31.255.13")]


def test_nodes_without_a_cidr_or_an_address_are_left_out():
    nodes = [node("no-cidr", cidr=None), node("no-ip", addresses=[]),
             node("ipv6", addresses=[{"type": "InternalIP", "address": "fd00::2"}])]
    assert desired_peers(nodes, "me") == []


def test_a_node_the_control_plane_lost_is_left_out_but_a_not_ready_one_keeps_its_route():
    nodes = [node("lost", ready="Unknown"), node("sick", "10.244.3.0/24", ready="False"),
             node("new", "10.244.4.0/24", ready=None)]
    assert [p.name for p in desired_peers(nodes, "me")] == ["new", "sick"]


def test_internal_ip_wins_over_external_ip():
    addresses = [{"type": "ExternalIP", "address": "198.51.100.7"},
                 {"type": "InternalIP", "address": "172.31.255.12"}]
    assert node_address(node("b", addresses=addresses)) == "172.31.255.12"
    assert node_address(node("b", addresses=addresses[:1])) == "198.51.100.7"


def test_a_cidr_is_normalised():
    assert desired_peers([node("b", "10.244.2.7/24")], "me")[0].pod_cidr == "10.244.2.0/24"


def test_vtep_mac_and_address_derive_from_the_pod_cidr():
    assert vtep_address("10.244.2.0/24") == "10.244.2.0"
    assert vtep_mac("10.244.2.0/24") == "0a:58:0a:f4:02:00"
    assert vtep_mac("10.244.255.0/24") == "0a:58:0a:f4:ff:00"
    assert pod_mtu(1500) == 1450


def test_backends_by_name_and_a_clear_error_for_an_unknown_one():
    assert isinstance(make_backend("host-gw", pod_cidr="10.244.1.0/24", node_ip="192.0.2.1"),
                      HostGwBackend)
    assert isinstance(make_backend("vxlan", pod_cidr="10.244.1.0/24", node_ip="192.0.2.1"),
                      VxlanBackend)
    with pytest.raises(ValueError, match="unknown network backend 'udp'.*host-gw, vxlan"):
        make_backend("udp", pod_cidr="10.244.1.0/24", node_ip="192.0.2.1")


def test_a_node_with_a_malformed_cidr_is_skipped_not_fatal():
    nodes = [node("bad", "10.244.2.0/99"), node("good", "10.244.3.0/24")]
    assert [p.name for p in desired_peers(nodes, "me")] == ["good"]
