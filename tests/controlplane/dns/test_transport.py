"""UDP and TCP, truncation, EDNS, and what a malformed or unusual message gets."""

from __future__ import annotations

import errno
import socket
import struct

import pytest
from dnskit import addresses, ask, exchange
from dnslib import QTYPE, RCODE, DNSHeader, DNSQuestion, DNSRecord
from netobjects import endpoint_slice, eventually, service

from supernetes.controlplane.dns.server import _bound_pair


def _headless(client, dns, ns, count: int) -> str:
    client.create(service("many", ip="None"), ns)
    endpoints = [{"ip": f"10.244.{i // 250}.{i % 250 + 1}"} for i in range(count)]
    client.create(endpoint_slice("many", endpoints), ns)
    name = f"many.{ns}.svc.cluster.local"
    assert eventually(lambda: len(ask(dns.port, name, tcp=True).rr) == count)
    return name


def test_cluster_names_over_tcp_several_on_one_connection(client, dns, ns):
    ip = client.create(service("web"), ns)["spec"]["clusterIP"]
    name = f"web.{ns}.svc.cluster.local"
    assert eventually(lambda: addresses(ask(dns.port, name, tcp=True)) == [ip])
    with socket.create_connection(("127.0.0.1", dns.port), timeout=3) as sock:
        for qid in (1, 2, 3):
            query = DNSRecord(DNSHeader(id=qid, rd=1), q=DNSQuestion(name))
            message = query.pack()
            sock.sendall(struct.pack("!H", len(message)) + message)
            length = struct.unpack("!H", sock.recv(2, socket.MSG_WAITALL))[0]
            reply = DNSRecord.parse(sock.recv(length, socket.MSG_WAITALL))
            assert reply.header.id == qid and addresses(reply) == [ip]


def test_big_answer_is_truncated_over_plain_udp_and_whole_over_tcp(client, dns, ns):
    name = _headless(client, dns, ns, 40)           # 40 A records: about 700 bytes
    plain = ask(dns.port, name)
    assert plain.header.tc == 1 and plain.rr == []
    assert str(plain.q.qname) == name + "."           # the question is kept
    edns = ask(dns.port, name, edns=4096)             # EDNS: up to our 1232 bytes
    assert edns.header.tc == 0 and len(edns.rr) == 40
    assert [rr.rclass for rr in edns.ar if rr.rtype == QTYPE.OPT] == [1232]
    assert len(ask(dns.port, name, tcp=True).rr) == 40


def test_answer_beyond_the_edns_size_is_truncated_too(client, dns, ns):
    name = _headless(client, dns, ns, 120)          # about 2 KiB
    assert ask(dns.port, name, edns=4096).header.tc == 1
    assert len(ask(dns.port, name, tcp=True).rr) == 120
    assert dns.server.stats["truncated"] >= 1


def test_reply_carries_edns_only_when_the_query_did(dns):
    assert [rr for rr in ask(dns.port, "cluster.local", "SOA").ar
            if rr.rtype == QTYPE.OPT] == []
    assert len([rr for rr in ask(dns.port, "cluster.local", "SOA", edns=1232).ar
                if rr.rtype == QTYPE.OPT]) == 1


def test_garbage_after_a_header_is_formerr(dns):
    header = struct.pack("!6H", 777, 0x0100, 1, 0, 0, 0)
    reply = DNSRecord.parse(exchange(dns.port, header + b"\x05abc"))
    assert reply.header.id == 777 and reply.header.rcode == RCODE.FORMERR


def test_a_query_without_a_question_is_formerr(dns):
    reply = DNSRecord.parse(exchange(dns.port, struct.pack("!6H", 778, 0x0100, 0, 0, 0, 0)))
    assert reply.header.rcode == RCODE.FORMERR


def test_other_opcodes_are_not_implemented(dns):
    query = DNSRecord(DNSHeader(id=9, opcode=4), q=DNSQuestion("cluster.local"))  # NOTIFY
    assert DNSRecord.parse(exchange(dns.port, query.pack())).header.rcode == RCODE.NOTIMP


def test_zone_transfer_is_refused(dns):
    assert ask(dns.port, "cluster.local", "AXFR", tcp=True).header.rcode == RCODE.REFUSED


def test_a_response_sent_to_the_server_gets_no_answer(dns):
    stray = DNSRecord(DNSHeader(id=5, qr=1), q=DNSQuestion("cluster.local")).pack()
    with pytest.raises(TimeoutError):
        exchange(dns.port, stray, timeout=0.5)
    # and the server still answers afterwards
    assert ask(dns.port, "cluster.local", "SOA").header.rcode == RCODE.NOERROR


def test_port_zero_gets_one_number_free_for_both_udp_and_tcp():
    for _ in range(50):
        udp, tcp = _bound_pair("127.0.0.1", 0, socket.AF_INET)
        try:
            assert udp.getsockname() == tcp.getsockname()
            assert udp.type == socket.SOCK_DGRAM and tcp.type == socket.SOCK_STREAM
        finally:
            udp.close()
            tcp.close()


def test_a_given_port_taken_for_udp_is_an_error_not_another_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(OSError) as caught:
            _bound_pair("127.0.0.1", port, socket.AF_INET)
        assert caught.value.errno == errno.EADDRINUSE
