"""`supernetes server` runs the cluster DNS server, or says why it does not."""

from __future__ import annotations

import socket

from apiserverkit import ApiServer
from dnskit import addresses, ask, ask_when_up
from netobjects import eventually

from supernetes.controlplane.client import Client


def _udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_answers_cluster_names_on_its_dns_address(tmp_path):
    port = _udp_port()
    server = ApiServer(tmp_path / "data", extra_args=[
        "--cluster-dns-bind", f"127.0.0.1:{port}", "--dns-resolv-conf", "",
        "--service-cidr", "10.100.0.0/16"])
    server.start()
    try:
        # the `kubernetes` Service the API server keeps, on the first service address
        reply = eventually(lambda: ask_when_up(port, "kubernetes.default.svc.cluster.local").rr)
        assert [str(r.rdata) for r in reply] == ["10.100.0.1"]
        # ns.dns names the DNS Service's address: the tenth of the service CIDR
        assert addresses(ask(port, "ns.dns.cluster.local")) == ["10.100.0.10"]
        assert ask(port, "example.org").header.rcode == 5          # no upstream: REFUSED
    finally:
        server.stop()


def test_server_without_a_pod_reachable_address_serves_no_dns_and_says_so(tmp_path):
    server = ApiServer(tmp_path / "data")          # --bind 127.0.0.1, nothing advertised
    server.start()
    try:
        with Client.from_kubeconfig(str(server.kubeconfig)) as client:
            assert client.get("v1", "Namespace", "kube-system")       # it serves the API
        assert eventually(lambda: "cluster DNS not served" in server.log_path.read_text())
    finally:
        server.stop()


def test_a_dns_port_it_cannot_bind_does_not_stop_the_api(tmp_path):
    server = ApiServer(tmp_path / "data", extra_args=["--advertise-address", "127.0.0.1",
                                                      "--advertise-address", "192.0.2.77"])
    server.start()                                   # 192.0.2.77 is no address of ours
    try:
        with Client.from_kubeconfig(str(server.kubeconfig)) as client:
            assert client.get("v1", "Namespace", "default")
        assert eventually(lambda: "cannot listen on 192.0.2.77 port 53"
                          in server.log_path.read_text())
    finally:
        server.stop()
