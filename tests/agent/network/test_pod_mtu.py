"""The pods' MTU follows the node's uplink, and a loopback-only node gets 1500."""

import subprocess
import uuid

import pytest

from supernetes.agent.network.crossnode import pod_mtu

pytestmark = [pytest.mark.root, pytest.mark.netns]


@pytest.fixture
def netns():
    name = f"sn-mtu-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    yield name
    subprocess.run(["ip", "netns", "delete", name], check=True)


def test_the_uplinks_mtu_less_the_overlay_headers_with_vxlan(netns):
    ip = ["ip", "-n", netns]
    subprocess.run([*ip, "link", "add", "up0", "mtu", "9000", "type", "veth",
                    "peer", "name", "up1"], check=True)
    subprocess.run([*ip, "addr", "add", "10.213.0.2/24", "dev", "up0"], check=True)
    assert pod_mtu("host-gw", "10.213.0.2", netns=f"/run/netns/{netns}") == 9000
    assert pod_mtu("vxlan", "10.213.0.2", netns=f"/run/netns/{netns}") == 8950


def test_a_node_announcing_loopback_gets_ethernets_mtu_not_los(netns):
    # lo's 65536 is more than a bridge takes: `supernetes up --netns` failed on it.
    subprocess.run(["ip", "-n", netns, "addr", "add", "10.213.1.1/32", "dev", "lo"], check=True)
    assert pod_mtu("host-gw", "10.213.1.1", netns=f"/run/netns/{netns}") == 1500
    mtu = pod_mtu("host-gw", "127.0.0.1", netns=f"/run/netns/{netns}")
    assert mtu == 1500
    subprocess.run(["ip", "-n", netns, "link", "add", "br-mtu", "mtu", str(mtu),
                    "type", "bridge"], check=True)
