"""Pods resolve cluster names: busybox nslookup in a pod, through the kube-dns ClusterIP.

The whole path a pod's query takes, with real parts:

    the pod's /etc/resolv.conf, as the agent writes it (agent/podfiles.py:
    ClusterFirst, nameserver 10.96.0.10, search <ns>.svc.cluster.local ...,
    ndots:5) -> busybox nslookup in the pod's network namespace -> the node's
    bridge -> the service proxy's DNAT of the kube-dns Service (published by
    the DNS server itself) -> the DNS server, listening on the node's address
    10.244.7.1:53 -> its answer from the API server's Services and slices.

Only the container is missing: nslookup runs in the pod's network namespace
with the agent's resolv.conf bind-mounted over /etc/resolv.conf in a private
mount namespace (`unshare --mount`), which is what a container sees.
"""

from __future__ import annotations

import re
import socket
import subprocess

import pytest
from dnskit import FakeUpstream
from netobjects import endpoint_slice, eventually, service

from supernetes.agent import podfiles
from supernetes.agent.network.netns import run_in
from supernetes.controlplane.dns import ClusterDNS, DNSConfig

pytestmark = [pytest.mark.root, pytest.mark.netns]

NODE_ADDRESS = "10.244.7.1"        # the node's bridge address: what pods reach it on
DNS_IP = "10.96.0.10"


def _sockets() -> tuple[socket.socket, socket.socket]:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((NODE_ADDRESS, 53))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((NODE_ADDRESS, 53))
    tcp.listen(64)
    return udp, tcp


@pytest.fixture
def upstream():
    fake = FakeUpstream({"example.org.": ["example.org. 300 IN A 192.0.2.80"]}).start()
    yield fake
    fake.stop()


@pytest.fixture
def dns(client, node, proxy, upstream):
    """The DNS server, its sockets opened in the node's namespace on the node address,
    publishing kube-dns -> 10.244.7.1:53; forwarding to the fake upstream."""
    sockets = run_in(node.config.netns, _sockets)
    config = DNSConfig(bind=NODE_ADDRESS, port=53, advertise=NODE_ADDRESS, service_ip=DNS_IP,
                       upstreams=(f"127.0.0.1:{upstream.port}",), resolv_conf=None)
    server = ClusterDNS(client, config, sockets=sockets).start()
    yield server
    server.stop()
    client.delete("v1", "Service", "kube-dns", "kube-system")


def nslookup(netns: str, resolv_conf, name: str, tool: str = "busybox nslookup") -> str:
    """busybox nslookup in the pod's network namespace, with the pod's resolv.conf."""
    script = f"mount --bind {resolv_conf} /etc/resolv.conf && exec {tool} {name}"
    result = subprocess.run(["nsenter", f"--net={netns}", "unshare", "--mount",
                             "--propagation", "private", "sh", "-c", script],
                            capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


def answers(output: str) -> list[str]:
    """The addresses nslookup printed for the name (not the server's own)."""
    after = output.split("Name:", 1)[1] if "Name:" in output else ""
    return sorted(re.findall(r"Address:\s*([\d.]+)\s*$", after, re.M))


def test_pods_resolve_short_and_full_service_names_and_headless_pods(
        client, ns, node, pods, dns, tmp_path):
    web_ip = client.create(service("web"), ns)["spec"]["clusterIP"]
    client.create(service("db", ip="None"), ns)
    db_ips = ["10.244.7.50", "10.244.7.51", "10.244.7.52"]
    client.create(endpoint_slice("db", [{"ip": ip} for ip in db_ips]), ns)
    sandbox, _network = pods("client")
    pod = {"metadata": {"name": "client", "namespace": ns}, "spec": {}}
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(podfiles.resolv_conf(pod, [DNS_IP]))
    assert f"search {ns}.svc.cluster.local svc.cluster.local cluster.local" in \
        resolv.read_text()
    netns = sandbox.ns_path("net")

    # the proxy must have programmed 10.96.0.10 -> 10.244.7.1:53 first
    short = eventually(lambda: answers(out := nslookup(netns, resolv, "web")) and out,
                       timeout=15)
    assert answers(short) == [web_ip], short
    assert f"Name:\tweb.{ns}.svc.cluster.local" in short
    full = nslookup(netns, resolv, f"web.{ns}.svc.cluster.local")
    assert answers(full) == [web_ip], full
    # busybox's nslookup tries the search path only for names without a dot; glibc's
    # resolver follows ndots:5, so `web.<ns>` resolves through the search path too
    two = nslookup(netns, resolv, f"web.{ns}", tool="getent ahostsv4")
    assert two.split()[0] == web_ip and f"web.{ns}.svc.cluster.local" in two, two
    assert answers(nslookup(netns, resolv, "db")) == db_ips
    assert answers(nslookup(netns, resolv, "example.org")) == ["192.0.2.80"]
    missing = nslookup(netns, resolv, "nothing-here")
    assert answers(missing) == [] and "NXDOMAIN" in missing
    # the server really answered from the node address, through the Service
    assert dns.server.stats["cluster"] >= 5
