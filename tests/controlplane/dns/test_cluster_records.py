"""Cluster names answered from a real API server: every record type of the DNS spec."""

from __future__ import annotations

from dnskit import addresses, ask
from dnslib import QTYPE, RCODE
from netobjects import endpoint_slice, eventually, service


def _fqdn(*labels: str) -> str:
    return ".".join(labels) + ".svc.cluster.local"


def _wait_for(dns, name: str, qtype: str = "A", rcode: int = RCODE.NOERROR, count: int = 1):
    """Ask until the informers have caught up: `count` answers with `rcode`."""
    reply = eventually(lambda: (r := ask(dns.port, name, qtype)).header.rcode == rcode
                       and len(r.rr) >= count and r)
    assert reply, f"{name} {qtype}: never {RCODE[rcode]} with {count} answers: " \
                  f"{ask(dns.port, name, qtype)}"
    return reply


def test_clusterip_service_resolves_to_its_cluster_ip_with_the_zone_ttl(client, dns, ns):
    ip = client.create(service("web"), ns)["spec"]["clusterIP"]
    reply = _wait_for(dns, _fqdn("web", ns))
    assert addresses(reply) == [ip]
    assert reply.rr[0].ttl == 5
    assert reply.header.aa == 1
    # the asker's spelling is kept in the answer (DNS is case-insensitive)
    upper = ask(dns.port, _fqdn("WEB", ns.upper()))
    assert addresses(upper) == [ip] and str(upper.rr[0].rname).startswith("WEB.")


def test_a_service_has_no_aaaa_record_but_exists(client, dns, ns):
    client.create(service("web"), ns)
    _wait_for(dns, _fqdn("web", ns))
    reply = ask(dns.port, _fqdn("web", ns), "AAAA")
    assert reply.header.rcode == RCODE.NOERROR and reply.rr == []
    assert [QTYPE[rr.rtype] for rr in reply.auth] == ["SOA"]


def test_unknown_service_is_nxdomain_with_the_soa(dns, ns):
    reply = ask(dns.port, _fqdn("missing", ns))
    assert reply.header.rcode == RCODE.NXDOMAIN
    soa = reply.auth[0]
    assert QTYPE[soa.rtype] == "SOA" and str(soa.rname) == "cluster.local."
    assert str(soa.rdata.mname) == "ns.dns.cluster.local."
    assert soa.rdata.times[-1] == 5          # negative answers are cached as briefly
    for name in (f"a.b.c.d.e.{ns}.svc.cluster.local", "nothing.cluster.local",
                 f"x.{ns}.pod.cluster.local", f"web.{ns}.svc.cluster.local.{ns}.svc."
                 "cluster.local"):
        assert ask(dns.port, name).header.rcode == RCODE.NXDOMAIN, name


def test_headless_service_returns_every_ready_endpoint(client, dns, ns):
    client.create(service("db", ip="None"), ns)
    client.create(endpoint_slice("db", [{"ip": "10.244.1.5"}, {"ip": "10.244.2.6"},
                                        {"ip": "10.244.3.7", "ready": False}]), ns)
    reply = _wait_for(dns, _fqdn("db", ns), count=2)
    assert addresses(reply) == ["10.244.1.5", "10.244.2.6"]


def test_headless_service_follows_endpoint_changes(client, dns, ns):
    client.create(service("db", ip="None"), ns)
    es = client.create(endpoint_slice("db", [{"ip": "10.244.1.5"}]), ns)
    _wait_for(dns, _fqdn("db", ns))
    es["endpoints"].append({"addresses": ["10.244.1.9"], "conditions": {"ready": True}})
    client.replace(es, ns)
    assert addresses(_wait_for(dns, _fqdn("db", ns), count=2)) == ["10.244.1.5", "10.244.1.9"]
    client.delete("discovery.k8s.io/v1", "EndpointSlice", es["metadata"]["name"], ns)
    empty = eventually(lambda: (r := ask(dns.port, _fqdn("db", ns))).rr == [] and r)
    assert empty and empty.header.rcode == RCODE.NOERROR     # the Service still exists


def test_headless_endpoints_by_hostname_and_by_dashed_ip(client, dns, ns):
    client.create(service("db", ip="None"), ns)
    client.create(endpoint_slice("db", [{"ip": "10.244.1.5", "hostname": "db-0"},
                                        {"ip": "10.244.2.6"}]), ns)
    _wait_for(dns, _fqdn("db", ns), count=2)
    assert addresses(ask(dns.port, _fqdn("db-0", "db", ns))) == ["10.244.1.5"]
    assert addresses(ask(dns.port, _fqdn("10-244-2-6", "db", ns))) == ["10.244.2.6"]
    assert ask(dns.port, _fqdn("db-9", "db", ns)).header.rcode == RCODE.NXDOMAIN


def test_srv_for_a_named_port_of_a_clusterip_service(client, dns, ns):
    web = service("web", ports=(("http", 80, "TCP"), ("dns", 53, "UDP")))
    ip = client.create(web, ns)["spec"]["clusterIP"]
    _wait_for(dns, _fqdn("web", ns))
    reply = ask(dns.port, _fqdn("_http._tcp.web", ns), "SRV")
    assert [(r.rdata.priority, r.rdata.weight, r.rdata.port, str(r.rdata.target))
            for r in reply.rr] == [(0, 100, 80, f"web.{ns}.svc.cluster.local.")]
    assert addresses(reply, section="ar") == [ip]
    udp = ask(dns.port, _fqdn("_dns._udp.web", ns), "SRV")
    assert [r.rdata.port for r in udp.rr] == [53]
    # the wrong protocol, or a port the Service lacks, does not exist
    assert ask(dns.port, _fqdn("_http._udp.web", ns), "SRV").header.rcode == RCODE.NXDOMAIN
    assert ask(dns.port, _fqdn("_grpc._tcp.web", ns), "SRV").header.rcode == RCODE.NXDOMAIN
    # the SRV name exists: an A question about it has no data, not NXDOMAIN
    a = ask(dns.port, _fqdn("_http._tcp.web", ns), "A")
    assert a.header.rcode == RCODE.NOERROR and a.rr == []


def test_srv_for_a_headless_service_names_each_ready_endpoint(client, dns, ns):
    client.create(service("db", ip="None", ports=(("sql", 5432, "TCP"),)), ns)
    client.create(endpoint_slice("db", [{"ip": "10.244.1.5", "hostname": "db-0"},
                                        {"ip": "10.244.2.6"},
                                        {"ip": "10.244.2.7", "ready": False}],
                                 ports=(("sql", 15432, "TCP"),)), ns)
    _wait_for(dns, _fqdn("db", ns), count=2)
    reply = ask(dns.port, _fqdn("_sql._tcp.db", ns), "SRV")
    targets = sorted((str(r.rdata.target), r.rdata.port) for r in reply.rr)
    assert targets == [(f"10-244-2-6.db.{ns}.svc.cluster.local.", 15432),
                       (f"db-0.db.{ns}.svc.cluster.local.", 15432)]
    glue = sorted((str(r.rname), str(r.rdata)) for r in reply.ar if QTYPE[r.rtype] == "A")
    assert glue == [(f"10-244-2-6.db.{ns}.svc.cluster.local.", "10.244.2.6"),
                    (f"db-0.db.{ns}.svc.cluster.local.", "10.244.1.5")]


def test_srv_on_the_service_name_lists_every_port(client, dns, ns):
    client.create(service("web", ports=(("http", 80, "TCP"),
                                                         ("https", 443, "TCP"))), ns)
    _wait_for(dns, _fqdn("web", ns))
    assert sorted(r.rdata.port for r in ask(dns.port, _fqdn("web", ns), "SRV").rr) == [80, 443]


def test_external_name_service_is_a_cname(client, dns, ns, upstream):
    client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
                   "spec": {"type": "ExternalName", "externalName": "target.example.org"}}, ns)
    reply = _wait_for(dns, _fqdn("ext", ns), "CNAME")
    assert [str(r.rdata) for r in reply.rr] == ["target.example.org."]
    # an A question gets the CNAME and the target's address, resolved upstream
    a = ask(dns.port, _fqdn("ext", ns), "A")
    assert [QTYPE[r.rtype] for r in a.rr] == ["CNAME", "A"]
    assert addresses(a) == ["192.0.2.99"]


def test_external_name_pointing_at_a_cluster_service_is_followed(client, dns, ns):
    ip = client.create(service("web"), ns)["spec"]["clusterIP"]
    client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "alias"},
                   "spec": {"type": "ExternalName",
                            "externalName": f"web.{ns}.svc.cluster.local"}}, ns)
    reply = _wait_for(dns, _fqdn("alias", ns), count=2)
    assert [QTYPE[r.rtype] for r in reply.rr] == ["CNAME", "A"] and addresses(reply) == [ip]


def test_pod_records_only_for_a_pod_that_has_the_ip(client, dns, ns):
    pod = client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                         "spec": {"containers": [{"name": "c", "image": "busybox"}]}}, ns)
    pod["status"] = {"phase": "Running", "podIP": "10.244.7.8",
                     "podIPs": [{"ip": "10.244.7.8"}]}
    client.replace_status(pod)
    reply = _wait_for(dns, f"10-244-7-8.{ns}.pod.cluster.local")
    assert addresses(reply) == ["10.244.7.8"]
    # an address no pod of that namespace has
    assert ask(dns.port, f"10-244-7-9.{ns}.pod.cluster.local").header.rcode == RCODE.NXDOMAIN
    assert ask(dns.port, "10-244-7-8.default.pod.cluster.local").header.rcode == \
        RCODE.NXDOMAIN


def test_namespaces_and_the_svc_branch_exist_without_data(client, dns, ns):
    client.create(service("web"), ns)
    _wait_for(dns, _fqdn("web", ns))
    for name in (f"{ns}.svc.cluster.local", "svc.cluster.local", "pod.cluster.local"):
        reply = ask(dns.port, name)
        assert reply.header.rcode == RCODE.NOERROR and reply.rr == [], name
    assert ask(dns.port, "no-such-ns.svc.cluster.local").header.rcode == RCODE.NXDOMAIN


def test_apex_soa_ns_and_the_spec_version(dns):
    soa = ask(dns.port, "cluster.local", "SOA")
    assert [QTYPE[r.rtype] for r in soa.rr] == ["SOA"]
    ns_reply = ask(dns.port, "cluster.local", "NS")
    assert [str(r.rdata) for r in ns_reply.rr] == ["ns.dns.cluster.local."]
    assert addresses(ask(dns.port, "ns.dns.cluster.local")) == ["10.96.0.10"]
    version = ask(dns.port, "dns-version.cluster.local", "TXT")
    assert [str(r.rdata) for r in version.rr] == ['"1.1.0"']


def test_reverse_lookup_of_a_cluster_ip_and_a_headless_endpoint(client, dns, ns):
    ip = client.create(service("web"), ns)["spec"]["clusterIP"]
    client.create(service("db", ip="None"), ns)
    client.create(endpoint_slice("db", [{"ip": "10.244.9.5", "hostname": "db-0"}]), ns)
    _wait_for(dns, _fqdn("db", ns))
    _wait_for(dns, _fqdn("web", ns))
    arpa = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
    assert [str(r.rdata) for r in ask(dns.port, arpa, "PTR").rr] == \
        [f"web.{ns}.svc.cluster.local."]
    assert [str(r.rdata) for r in ask(dns.port, "5.9.244.10.in-addr.arpa", "PTR").rr] == \
        [f"db-0.db.{ns}.svc.cluster.local."]


def test_selectorless_service_with_endpoints_and_no_slice(client, dns, ns):
    client.create(service("legacy", ip="None"), ns)
    client.create({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "legacy"},
                   "subsets": [{"addresses": [{"ip": "10.244.4.4"}],
                                "notReadyAddresses": [{"ip": "10.244.4.5"}],
                                "ports": [{"name": "http", "port": 8080}]}]}, ns)
    assert addresses(_wait_for(dns, _fqdn("legacy", ns))) == ["10.244.4.4"]


def test_deleted_service_disappears(client, dns, ns):
    client.create(service("web"), ns)
    _wait_for(dns, _fqdn("web", ns))
    client.delete("v1", "Service", "web", ns)
    assert _wait_for(dns, _fqdn("web", ns), rcode=RCODE.NXDOMAIN, count=0)
