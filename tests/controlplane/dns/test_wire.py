"""The fast path's query reader: the common shape read from bytes, the rest declined."""

from __future__ import annotations

import struct

from dnslib import EDNS0, QTYPE, DNSHeader, DNSQuestion, DNSRecord

from supernetes.controlplane.dns.wire import read_query


def test_plain_query_with_and_without_edns():
    query = DNSRecord(DNSHeader(id=7, rd=1), q=DNSQuestion("Web.Default.svc.cluster.local",
                                                          QTYPE.SRV))
    read = read_query(query.pack())
    assert (read.id, read.name, read.qtype, read.qclass) == \
        (7, "web.default.svc.cluster.local.", QTYPE.SRV, 1)
    assert read.opt == b"" and read.udp_size == 0 and not read.dnssec_ok
    assert read.question.startswith(b"\x03Web")           # the asker's spelling, kept
    query.add_ar(EDNS0(udp_len=4096, flags="do"))
    read = read_query(query.pack())
    assert read.udp_size == 4096 and read.dnssec_ok and read.opt


def test_unusual_messages_are_left_to_the_full_parser():
    base = DNSRecord.question("example.org").pack()
    two_questions = DNSRecord(DNSHeader(id=1), questions=[DNSQuestion("a.org"),
                                                          DNSQuestion("b.org")]).pack()
    response = DNSRecord.question("example.org").reply().pack()
    compressed = base[:12] + b"\xc0\x0c" + base[-4:]
    dotted = base[:12] + b"\x03a.b\x00" + base[-4:]
    trailing = bytes(base) + b"junk"
    for message in (two_questions, response, compressed, dotted, trailing, base[:14]):
        assert read_query(message) is None, message


def test_cut_opt_record_is_declined():
    query = DNSRecord.question("example.org")
    query.add_ar(EDNS0(udp_len=1232))
    data = bytes(query.pack())
    assert read_query(data) is not None
    assert read_query(data[:-2]) is None
    assert read_query(data[:12] + struct.pack("!H", 0) + data[14:]) is None     # no question
