"""Names outside the cluster: forwarded to a fake upstream on loopback, and cached."""

from __future__ import annotations

import concurrent.futures
import time

import pytest
from dnskit import addresses, ask, exchange
from dnslib import QTYPE, RCODE, DNSRecord

from supernetes.controlplane.dns import ClusterDNS, DNSConfig
from supernetes.controlplane.dns.config import Upstream, read_resolv_conf
from supernetes.controlplane.dns.errors import DNSConfigError
from supernetes.controlplane.dns.forward import usable_upstreams


def test_outside_name_is_answered_by_the_upstream(dns, upstream):
    reply = ask(dns.port, "example.org")
    assert addresses(reply) == ["192.0.2.80"]
    assert reply.header.aa == 0 and reply.header.ra == 1     # not our authority


def test_repeated_question_is_served_from_the_cache(dns, upstream):
    ask(dns.port, "example.org")
    before = upstream.questions[("example.org.", "A")]
    for _ in range(5):
        assert addresses(ask(dns.port, "example.org")) == ["192.0.2.80"]
    assert upstream.questions[("example.org.", "A")] == before
    assert dns.server.cache.hits >= 5


def test_cached_answer_ttl_counts_down_and_expires(dns, upstream):
    first = ask(dns.port, "short.example.org")
    assert first.rr[0].ttl == 2
    asked = upstream.questions[("short.example.org.", "A")]
    time.sleep(1.1)
    assert ask(dns.port, "short.example.org").rr[0].ttl <= 1
    assert upstream.questions[("short.example.org.", "A")] == asked
    time.sleep(1.2)
    assert ask(dns.port, "short.example.org").rr[0].ttl == 2
    assert upstream.questions[("short.example.org.", "A")] == asked + 1


def test_upstream_nxdomain_is_passed_on(dns):
    assert ask(dns.port, "nowhere.example.org").header.rcode == RCODE.NXDOMAIN


def test_truncated_upstream_answer_is_fetched_again_over_tcp(dns, upstream):
    tcp = ask(dns.port, "big.example.org", "TXT", tcp=True)
    assert len(tcp.rr) == 5 and tcp.header.tc == 0
    # a plain UDP asker cannot take 1 KiB: it is told to retry over TCP
    udp = ask(dns.port, "big.example.org", "TXT")
    assert udp.header.tc == 1 and udp.rr == []
    assert str(udp.q.qname) == "big.example.org."
    assert upstream.transports["tcp"] >= 1


def test_dead_upstream_is_servfail_after_the_timeout(dns):
    started = time.monotonic()
    reply = ask(dns.port, "dead.example.org", timeout=5)
    assert reply.header.rcode == RCODE.SERVFAIL
    assert time.monotonic() - started < 3


def test_concurrent_identical_questions_make_one_upstream_query(dns, upstream):
    upstream.slow["slow.example.org."] = 0.3
    upstream.records["slow.example.org."] = ["slow.example.org. 60 IN A 192.0.2.30"]
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(lambda _: ask(dns.port, "slow.example.org"), range(10)))
    assert all(addresses(r) == ["192.0.2.30"] for r in replies)
    assert upstream.questions[("slow.example.org.", "A")] == 1
    # each asker got its own ID back
    assert len({r.header.id for r in replies}) > 1


def test_without_an_upstream_other_names_are_refused(client):
    config = DNSConfig(bind="127.0.0.1", port=0, resolv_conf=None, publish=False)
    server = ClusterDNS(client, config).start()
    try:
        reply = ask(server.port, "example.org")
        assert reply.header.rcode == RCODE.REFUSED and reply.header.ra == 0
        assert ask(server.port, "cluster.local", "SOA").header.rcode == RCODE.NOERROR
    finally:
        server.stop()


def test_upstreams_come_from_resolv_conf(tmp_path):
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("# comment\nsearch example.org\nnameserver 192.0.2.53\n"
                      "nameserver not-an-address\nnameserver 2001:db8::53\noptions ndots:2\n")
    assert read_resolv_conf(str(resolv)) == [Upstream("192.0.2.53"), Upstream("2001:db8::53")]
    assert read_resolv_conf(str(tmp_path / "missing")) == []
    config = DNSConfig(resolv_conf=str(resolv))
    assert config.upstream_servers() == [Upstream("192.0.2.53"), Upstream("2001:db8::53")]
    explicit = DNSConfig(resolv_conf=str(resolv), upstreams=("127.0.0.1:5353",))
    assert explicit.upstream_servers() == [Upstream("127.0.0.1", 5353)]


def test_forwarding_to_ourselves_is_refused_as_a_loop():
    ours = Upstream("0.0.0.0", 53)
    upstreams = [Upstream("127.0.0.1"), Upstream("10.96.0.10"), Upstream("192.0.2.1"),
                 Upstream("127.0.0.1", 5353)]
    assert usable_upstreams(upstreams, ours, "10.96.0.10") == \
        [Upstream("192.0.2.1"), Upstream("127.0.0.1", 5353)]


@pytest.mark.parametrize("bad", ["nameserver", "1.2.3.4:99999", "example.org", "[::1"])
def test_bad_upstream_is_a_config_error(bad):
    with pytest.raises(DNSConfigError):
        DNSConfig(upstreams=(bad,)).validate()


def test_forwarded_reply_keeps_the_askers_id_and_question(dns):
    query = DNSRecord.question("Example.ORG", "A")
    query.header.id = 4242
    reply = DNSRecord.parse(exchange(dns.port, query.pack()))
    assert reply.header.id == 4242
    assert QTYPE[reply.q.qtype] == "A"
