"""The forwarded-answer cache: TTL offsets found on the wire, aged on a hit, bounded."""

from __future__ import annotations

import struct

import pytest
from dnslib import RCODE, RR, DNSRecord

from supernetes.controlplane.dns.cache import AnswerCache, Malformed, ttl_offsets


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _response(name: str = "example.org", ttls=(300, 60), rcode=RCODE.NOERROR,
              soa_minimum: int | None = None) -> bytes:
    reply = DNSRecord.question(name).reply()
    reply.header.rcode = rcode
    for i, ttl in enumerate(ttls):
        reply.add_answer(*RR.fromZone(f"{name}. {ttl} IN A 192.0.2.{i + 1}"))
    if soa_minimum is not None:
        reply.add_auth(*RR.fromZone(f"org. 900 IN SOA a.org. b.org. 1 2 3 4 {soa_minimum}"))
    return reply.pack()


def test_ttl_offsets_point_at_every_ttl_and_find_the_lowest():
    data = _response(ttls=(300, 60))
    offsets, lowest = ttl_offsets(data)
    assert [struct.unpack_from("!I", data, o)[0] for o in offsets] == [300, 60]
    assert lowest == 60


def test_negative_answer_lives_as_long_as_the_soa_minimum():
    _offsets, lowest = ttl_offsets(_response(ttls=(), rcode=RCODE.NXDOMAIN, soa_minimum=30))
    assert lowest == 30


def test_a_message_that_runs_past_its_end_is_malformed():
    with pytest.raises(Malformed):
        ttl_offsets(_response()[:-3])


def test_hit_has_the_askers_id_and_aged_ttls_then_expires():
    clock = Clock()
    cache = AnswerCache(clock=clock)
    assert cache.put(("example.org.", 1), _response(ttls=(300, 60)))
    clock.now += 25
    hit = DNSRecord.parse(cache.get(("example.org.", 1), 4321))
    assert hit.header.id == 4321
    assert [rr.ttl for rr in hit.rr] == [275, 35]
    clock.now += 36                       # the lowest TTL (60) has run out
    assert cache.get(("example.org.", 1), 1) is None
    assert (cache.hits, cache.misses) == (1, 1)


def test_failures_truncated_and_ttl_zero_answers_are_not_kept():
    cache = AnswerCache()
    assert not cache.put(("a",), _response(rcode=RCODE.SERVFAIL))
    assert not cache.put(("b",), _response(ttls=(0,)))
    truncated = bytearray(_response())
    truncated[2] |= 0x02
    assert not cache.put(("c",), bytes(truncated))
    assert not cache.put(("d",), _response(ttls=()))       # nothing says how long
    assert len(cache) == 0


def test_ttls_are_capped_and_the_oldest_entries_go_first():
    clock = Clock()
    cache = AnswerCache(size=2, max_ttl=100, clock=clock)
    cache.put(("a",), _response(ttls=(86400,)))
    cache.put(("b",), _response())
    cache.get(("a",), 1)                   # a is now the most recently used
    cache.put(("c",), _response())
    assert cache.get(("b",), 1) is None and cache.get(("a",), 1) is not None
    clock.now += 101
    assert cache.get(("a",), 1) is None    # capped at max_ttl
