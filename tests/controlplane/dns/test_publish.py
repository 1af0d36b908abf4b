"""The kube-dns Service: published with this server as its endpoint, and kept so."""

from __future__ import annotations

import uuid

import pytest
from dnskit import addresses, ask
from netobjects import eventually

from supernetes.controlplane.client import NotFound
from supernetes.controlplane.dns import ClusterDNS, DNSConfig


@pytest.fixture
def publishing(client):
    """A DNS server that publishes a Service of a test's own name (`kube-dns-<id>`)."""
    servers = []

    def start(**overrides) -> ClusterDNS:
        settings = dict(bind="127.0.0.1", port=0, resolv_conf=None,
                        service_name=f"kube-dns-{uuid.uuid4().hex[:6]}",
                        service_ip=f"10.110.0.{len(servers) + 10}")
        settings.update(overrides)
        server = ClusterDNS(client, DNSConfig(**settings)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        for kind, api in (("Service", "v1"), ("Endpoints", "v1"),
                          ("EndpointSlice", "discovery.k8s.io/v1")):
            try:
                client.delete(api, kind, server.config.service_name, "kube-system")
            except NotFound:
                pass


def _get(client, api: str, kind: str, name: str):
    try:
        return client.get(api, kind, name, "kube-system")
    except NotFound:
        return None


def test_service_and_endpoints_point_at_the_advertised_address(client, publishing):
    dns = publishing(advertise="192.0.2.53")
    name = dns.config.service_name
    svc = eventually(lambda: _get(client, "v1", "Service", name))
    assert svc["spec"]["clusterIP"] == dns.config.service_ip
    assert sorted((p["name"], p["protocol"], p["port"], p["targetPort"])
                  for p in svc["spec"]["ports"]) == [("dns", "UDP", 53, dns.port),
                                                     ("dns-tcp", "TCP", 53, dns.port)]
    assert "selector" not in svc["spec"]        # the endpoint controllers leave it alone
    endpoints = eventually(lambda: _get(client, "v1", "Endpoints", name))
    assert [a["ip"] for a in endpoints["subsets"][0]["addresses"]] == ["192.0.2.53"]
    es = eventually(lambda: _get(client, "discovery.k8s.io/v1", "EndpointSlice", name))
    assert es["metadata"]["labels"]["kubernetes.io/service-name"] == name
    assert [e["addresses"] for e in es["endpoints"]] == [["192.0.2.53"]]
    assert {p["port"] for p in es["ports"]} == {dns.port}
    # and the server answers for its own Service
    fqdn = f"{name}.kube-system.svc.cluster.local"
    assert eventually(lambda: addresses(ask(dns.port, fqdn)) == [dns.config.service_ip])


def test_deleted_or_edited_endpoints_are_put_back(client, publishing):
    dns = publishing(advertise="192.0.2.53")
    name = dns.config.service_name
    assert eventually(lambda: _get(client, "discovery.k8s.io/v1", "EndpointSlice", name))
    client.delete("discovery.k8s.io/v1", "EndpointSlice", name, "kube-system")
    endpoints = eventually(lambda: _get(client, "v1", "Endpoints", name))
    endpoints["subsets"] = []
    client.replace(endpoints, "kube-system")
    assert eventually(lambda: _get(client, "discovery.k8s.io/v1", "EndpointSlice", name))
    assert eventually(lambda: (_get(client, "v1", "Endpoints", name) or {}).get("subsets"))


def test_a_server_pods_cannot_reach_publishes_nothing(client, publishing):
    dns = publishing()                              # loopback only, nothing advertised
    assert dns.config.published_address() is None
    assert ask(dns.port, "cluster.local", "SOA").rr     # it serves all the same
    assert eventually(lambda: dns.publisher.rounds >= 1)
    assert _get(client, "v1", "Service", dns.config.service_name) is None


def test_wildcard_listener_publishes_the_advertised_address():
    config = DNSConfig(bind="0.0.0.0", advertise="192.0.2.7")
    assert config.published_address() == "192.0.2.7"
    assert DNSConfig(bind="0.0.0.0").published_address() is None
    assert DNSConfig(bind="192.0.2.8").published_address() == "192.0.2.8"
    assert DNSConfig(bind="127.0.0.1", advertise="127.0.0.2").published_address() is None


def test_two_servers_share_the_service_and_one_that_stops_drops_out(client, publishing):
    first = publishing(advertise="192.0.2.53")
    name = first.config.service_name
    second = publishing(advertise="192.0.2.54", service_name=name,
                        service_ip=first.config.service_ip)

    def addresses_of() -> list[str]:
        es = _get(client, "discovery.k8s.io/v1", "EndpointSlice", name) or {}
        return sorted(a for e in es.get("endpoints") or () for a in e["addresses"])

    assert eventually(lambda: addresses_of() == ["192.0.2.53", "192.0.2.54"]), addresses_of()
    ep = _get(client, "v1", "Endpoints", name)
    assert sorted(a["ip"] for a in ep["subsets"][0]["addresses"]) == ["192.0.2.53",
                                                                      "192.0.2.54"]
    second.stop()
    assert eventually(lambda: addresses_of() == ["192.0.2.53"]), addresses_of()
    leases = client.list("coordination.k8s.io/v1", "Lease", "kube-system",
                         label_selector=f"dns.supernetes.io/service={name}")["items"]
    assert [lease["spec"]["holderIdentity"] for lease in leases] == ["192.0.2.53"]


def test_a_lease_that_stops_changing_is_no_longer_alive(client):
    from supernetes.controlplane.dns.members import Members

    now = [1000.0]
    service = f"dns-{uuid.uuid4().hex[:6]}"
    mine = Members(client, service, "kube-system", "192.0.2.1", duration=30,
                   clock=lambda: now[0])
    theirs = Members(client, service, "kube-system", "192.0.2.2", duration=30)
    try:
        mine.renew()
        theirs.renew()
        assert mine.alive() == ["192.0.2.1", "192.0.2.2"]
        now[0] += 31                      # theirs did not renew within its duration
        assert mine.alive() == ["192.0.2.1"]
        theirs.renew()                    # a renewal: seen to change, alive again
        assert mine.alive() == ["192.0.2.1", "192.0.2.2"]
    finally:
        mine.leave()
        theirs.leave()
