"""One DNS message in, its reply out: the server's logic, without sockets.

    respond(message, tcp)
      not a query we can read      -> FORMERR (or dropped, when not even a header)
      opcode other than QUERY      -> NOTIMP; zone transfers -> REFUSED
      a cluster name (records.py)  -> answered at once, with authority (AA)
      another name                 -> forwarded (forward.py), or REFUSED when no
                                      upstream is configured
      over UDP, bigger than the asker can take (512 bytes, or its EDNS payload size,
      at most ours) -> header, question and TC only: the asker retries over TCP

It returns the reply's bytes, or an awaitable of them for a forwarded name (the
server awaits it on its loop), or None for a message that deserves no answer.

The fast path: a plain query (wire.py reads it without dnslib) whose exact
question was answered before, with nothing in the cluster changed since (the
view's generation), gets the bytes encoded then with its own ID; a forwarded
name in the forwarding cache likewise. Everything else takes the full path.
"""

from __future__ import annotations

import struct
from collections import Counter

from dnslib import EDNS0, QTYPE, RCODE, DNSError, DNSHeader, DNSQuestion, DNSRecord

from . import names
from .cache import AnswerCache
from .config import DNSConfig, Upstream
from .forward import Forwarder
from .records import Zone
from .wire import Query, read_query

PLAIN_UDP_LIMIT = 512
TRANSFERS = (QTYPE.AXFR, QTYPE.IXFR)
CLASS_IN, CLASS_ANY = 1, 255
ENCODED_MAX = 20000              # encoded cluster answers kept (then the lot is dropped)
KEY_FLAGS = 0x7910               # opcode, RD and CD: what else in a query changes a reply


def _header_only(message: bytes, rcode: int) -> bytes:
    """A reply to a message dnslib could not read: its ID and opcode, QR set, no sections."""
    flags = struct.unpack_from("!H", message, 2)[0]
    flags = (flags & 0x7900) | 0x8000 | rcode        # keep opcode and RD
    return struct.pack("!6H", struct.unpack_from("!H", message)[0], flags, 0, 0, 0, 0)


class Responder:
    def __init__(self, config: DNSConfig, zone: Zone, upstreams: list[Upstream]):
        self.config = config
        self.zone = zone
        self.upstreams = upstreams
        self.cache = AnswerCache(config.cache_size, config.cache_max_ttl)
        self.forwarder: Forwarder | None = None      # made on the server's loop
        self.stats: Counter = Counter()
        self._encoded: dict[tuple, tuple[int, bytes]] = {}

    # -- one message -----------------------------------------------------------------

    def respond(self, message: bytes, tcp: bool):
        """The reply bytes, an awaitable of them (forwarded names), or None (drop)."""
        if len(message) < 12 or message[2] & 0x80:     # not even a header, or a response
            return None
        self.stats["queries"] += 1
        plain = read_query(message)
        if plain is not None:
            known = self._known(plain, tcp)
            if known is not None:
                return known
        try:
            query = DNSRecord.parse(message)
        except (DNSError, ValueError, IndexError, struct.error):
            self.stats["formerr"] += 1
            return _header_only(message, RCODE.FORMERR)
        limit = self._limit(query, tcp)
        if query.header.opcode != 0:
            return self._finish(self._reply(query, RCODE.NOTIMP), limit)
        if len(query.questions) != 1:
            self.stats["formerr"] += 1
            return self._finish(self._reply(query, RCODE.FORMERR), limit)
        question = query.questions[0]
        if question.qtype in TRANSFERS:
            return self._finish(self._reply(query, RCODE.REFUSED), limit)
        generation = self.zone.view.generation
        answer = None
        if question.qclass in (CLASS_IN, CLASS_ANY):
            answer = self.zone.answer(str(question.qname), question.qtype)
        if answer is None:
            return self._forward(query, message, tcp, limit)
        self.stats["cluster"] += 1
        if answer.rcode == RCODE.NXDOMAIN:
            self.stats["nxdomain"] += 1
        reply = self._reply(query, answer.rcode, aa=True)
        reply.rr, reply.auth = list(answer.answer), list(answer.authority)
        reply.ar = list(answer.additional) + reply.ar
        if answer.chase and question.qtype in (QTYPE.A, QTYPE.AAAA) and self.upstreams:
            return self._chase(reply, answer.chase, question.qtype, limit)
        data = self._finish(reply, limit)
        if plain is not None:
            if len(self._encoded) >= ENCODED_MAX:
                self._encoded.clear()
            self._encoded[self._key(plain, tcp)] = (generation, data[2:])
        return data

    @staticmethod
    def _key(query: Query, tcp: bool) -> tuple:
        return (query.flags & KEY_FLAGS, query.question, query.opt, tcp)

    def _known(self, query: Query, tcp: bool) -> bytes | None:
        """The fast path: an answer encoded before, or a forwarded answer still cached."""
        entry = self._encoded.get(self._key(query, tcp))
        if entry is not None and entry[0] == self.zone.view.generation:
            self.stats["cluster"] += 1
            return struct.pack("!H", query.id) + entry[1]
        if (query.flags & 0x7800) or not self.upstreams or \
                not isinstance(names.parse(query.name, self.zone.zone), names.Outside):
            return None
        key = (query.name, query.qtype, query.qclass, bool(query.opt), query.dnssec_ok,
               bool(query.flags & 0x0010))
        cached = self.cache.get(key, query.id)
        limit = 65535 if tcp else max(PLAIN_UDP_LIMIT, min(query.udp_size,
                                                           self.config.max_udp_size))
        if cached is None or len(cached) > limit:
            return None
        self.stats["forwarded"] += 1
        return cached

    def _reply(self, query: DNSRecord, rcode: int, aa: bool = False) -> DNSRecord:
        header = DNSHeader(id=query.header.id, qr=1, aa=int(aa), rd=query.header.rd,
                           ra=int(bool(self.upstreams)), rcode=rcode,
                           opcode=query.header.opcode)
        reply = DNSRecord(header, questions=list(query.questions[:1]))
        if self._edns(query) is not None:
            reply.add_ar(EDNS0(udp_len=self.config.max_udp_size))
        return reply

    @staticmethod
    def _edns(query: DNSRecord):
        return next((rr for rr in query.ar if rr.rtype == QTYPE.OPT), None)

    def _limit(self, query: DNSRecord, tcp: bool) -> int:
        if tcp:
            return 65535
        opt = self._edns(query)
        if opt is None:
            return PLAIN_UDP_LIMIT
        return max(PLAIN_UDP_LIMIT, min(opt.rclass, self.config.max_udp_size))

    def _finish(self, reply: DNSRecord, limit: int) -> bytes:
        data = reply.pack()
        if len(data) <= limit:
            return data
        return self._truncated(reply.header.id, reply, limit)

    def _truncated(self, query_id: int, reply: DNSRecord, limit: int) -> bytes:
        self.stats["truncated"] += 1
        short = DNSRecord(DNSHeader(id=query_id, qr=1, aa=reply.header.aa, tc=1,
                                    rd=reply.header.rd, ra=reply.header.ra,
                                    rcode=reply.header.rcode),
                          questions=list(reply.questions[:1]))
        short.ar = [rr for rr in reply.ar if rr.rtype == QTYPE.OPT]
        return short.pack()

    # -- forwarding --------------------------------------------------------------------

    def _forward(self, query: DNSRecord, message: bytes, tcp: bool, limit: int):
        if not self.upstreams:
            self.stats["refused"] += 1
            return self._finish(self._reply(query, RCODE.REFUSED), limit)
        question = query.questions[0]
        opt = self._edns(query)
        key = (str(question.qname).lower(), question.qtype, question.qclass,
               opt is not None, bool(opt is not None and opt.ttl & 0x8000),
               bool(message[3] & 0x10))
        self.stats["forwarded"] += 1
        return self._forwarded(query, message, key, tcp, limit)

    async def _forwarded(self, query, message, key, tcp, limit) -> bytes:
        response = await self.forwarder.resolve(message, key, tcp)
        if response is None:
            self.stats["servfail"] += 1
            return self._finish(self._reply(query, RCODE.SERVFAIL), limit)
        if len(response) > limit:
            return self._truncated(query.header.id, DNSRecord.parse(response), limit)
        return response

    async def _chase(self, reply: DNSRecord, target: str, qtype: int, limit: int) -> bytes:
        """An ExternalName pointing outside: the CNAME, then the target's records."""
        query = DNSRecord(DNSHeader(rd=1), q=DNSQuestion(target, qtype))
        key = (target.lower(), qtype, CLASS_IN, False, False, False)
        response = await self.forwarder.resolve(query.pack(), key, False)
        if response is not None:
            try:
                reply.rr += DNSRecord.parse(response).rr
            except DNSError:
                pass
        return self._finish(reply, limit)
