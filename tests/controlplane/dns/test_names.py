"""Query names -> the kind of cluster name they are (pure parsing)."""

from __future__ import annotations

import pytest

from supernetes.controlplane.dns import names

Z = "cluster.local"


@pytest.mark.parametrize("name, expected", [
    ("cluster.local.", names.Apex()),
    ("CLUSTER.local", names.Apex()),
    ("dns-version.cluster.local.", names.Version()),
    ("ns.dns.cluster.local.", names.NameServer()),
    ("dns.cluster.local.", names.Branch("fixed")),
    ("svc.cluster.local.", names.Branch("fixed")),
    ("default.svc.cluster.local.", names.Branch("namespace", "default")),
    ("web.default.svc.cluster.local.", names.Service("default", "web")),
    ("Web.Default.svc.cluster.local.", names.Service("default", "web")),
    ("web-0.web.default.svc.cluster.local.", names.Endpoint("default", "web", "web-0")),
    ("_tcp.web.default.svc.cluster.local.", names.Branch("service", "default", "web")),
    ("_http._tcp.web.default.svc.cluster.local.", names.Port("default", "web", "http", "TCP")),
    ("_dns._udp.kube-dns.kube-system.svc.cluster.local.",
     names.Port("kube-system", "kube-dns", "dns", "UDP")),
    ("_x._sctp.s.n.svc.cluster.local.", names.Port("n", "s", "x", "SCTP")),
    ("pod.cluster.local.", names.Branch("fixed")),
    ("default.pod.cluster.local.", names.Branch("namespace", "default")),
    ("10-244-1-5.default.pod.cluster.local.", names.Pod("default", "10.244.1.5")),
    ("10-244-1-500.default.pod.cluster.local.", names.Unknown()),
    ("a.b.web.default.svc.cluster.local.", names.Unknown()),
    ("http._tcp.web.default.svc.cluster.local.", names.Unknown()),
    ("other.cluster.local.", names.Unknown()),
    ("example.org.", names.Outside()),
    ("notcluster.local.", names.Outside()),
    ("5.1.244.10.in-addr.arpa.", names.Reverse("10.244.1.5")),
    ("1.244.10.in-addr.arpa.", names.Outside()),
    ("x.1.244.10.in-addr.arpa.", names.Outside()),
])
def test_parse(name, expected):
    assert names.parse(name, Z) == expected


def test_another_cluster_domain():
    assert names.parse("web.prod.svc.corp.example.", "corp.example") == \
        names.Service("prod", "web")
    assert names.parse("web.prod.svc.cluster.local.", "corp.example") == names.Outside()


def test_dashed_ips_both_ways():
    assert names.dashed_ip("10.244.1.5") == "10-244-1-5"
    assert names.undash_ip("10-244-1-5") == "10.244.1.5"
    assert names.undash_ip("10-244-1") is None
    assert names.undash_ip("web-0") is None
