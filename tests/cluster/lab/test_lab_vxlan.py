"""A two-node lab with the VXLAN backend: pods talk across the overlay, unchanged.

The lab's nodes share one L2 segment, so host-gw would do too; what this shows
is that the overlay carries pod traffic with the pods' own addresses, that every
node has the tunnel device and the per-peer entries, and that pods get an MTU
that leaves room for the tunnel's headers.
"""

import subprocess

import pytest

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.e2e, pytest.mark.slow]


def ip(lab, machine, *args) -> str:
    return subprocess.run(["nsenter", f"--net={lab.netns(machine)}", "ip", *args],
                          capture_output=True, text=True, check=True).stdout


def test_pods_on_two_nodes_reach_each_other_through_the_overlay(lab_vxlan):
    lab = lab_vxlan
    names = ["vx-1", "vx-2"]
    try:
        for name, node in zip(names, lab.node_names, strict=True):
            lab.whoami_pod(name, node=node)
        ips = {name: lab.wait_running(name)["status"]["podIP"] for name in names}
        assert lab.fetch("vx-1", f"http://{ips['vx-2']}:8080/cgi-bin/ip") == ips["vx-1"]
        assert lab.fetch("vx-2", f"http://{ips['vx-1']}:8080/cgi-bin/ip") == ips["vx-2"]
        mtu = lab.kubectl("exec", "vx-1", "--", "cat", "/sys/class/net/eth0/mtu").stdout
        assert mtu.strip() == "1450"
    finally:
        lab.delete_pods(names)


def test_every_node_has_the_tunnel_and_routes_through_it(lab_vxlan):
    lab = lab_vxlan
    cidrs = {n["metadata"]["name"]: n["spec"]["podCIDR"]
             for n in lab.client.list("v1", "Node")["items"]}
    for machine, other in (("node1", "node2"), ("node2", "node1")):
        details = ip(lab, machine, "-d", "link", "show", "supervxlan0")
        assert "vxlan id 1" in details and f"local {lab.address(machine)}" in details
        peer_cidr = cidrs[lab.config.hostname(other)]
        vtep = peer_cidr.split("/")[0]
        assert f"{peer_cidr} via {vtep} dev supervxlan0" in lab.routes(machine)
        fdb = subprocess.run(["nsenter", f"--net={lab.netns(machine)}", "bridge", "fdb",
                              "show", "dev", "supervxlan0"], capture_output=True, text=True)
        assert f"dst {lab.address(other)}" in fdb.stdout
