"""A cache of forwarded answers, kept as wire bytes and served with aged TTLs.

Cluster answers are computed from the informers' caches on every query and are
never cached here; what the upstream resolver says is, for as long as its records
allow (RFC 1035 TTLs; RFC 2308 for a negative answer: the SOA's TTL and minimum,
whichever is lower), capped by `max_ttl`, and the least recently used entries go
first once `size` entries are held.

An entry is the response as the upstream sent it plus the byte offsets of its
TTL fields, found by one walk over the message (`ttl_offsets`): a hit copies the
bytes, writes the asker's ID and each TTL less the seconds the entry has been
held, and needs no parsing and no re-encoding. Only NOERROR and NXDOMAIN answers
that were not truncated are kept; failures (SERVFAIL, REFUSED) are not.
"""

from __future__ import annotations

import struct
import threading
import time
from collections import OrderedDict

from .wire import skip_name

OPT, SOA = 41, 6
RCODE_NOERROR, RCODE_NXDOMAIN = 0, 3


class Malformed(ValueError):
    """The message does not hold together (a record runs past its end)."""


def ttl_offsets(data: bytes) -> tuple[list[int], int | None]:
    """Offsets of every record's TTL (OPT excluded: its TTL field holds EDNS flags),
    and the lowest TTL in the message (a SOA's minimum counts, RFC 2308)."""
    if len(data) < 12:
        raise Malformed("shorter than a DNS header")
    qdcount, ancount, nscount, arcount = struct.unpack_from("!4H", data, 4)
    offset = 12
    for _ in range(qdcount):
        offset = skip_name(data, offset) + 4
    offsets, lowest = [], None
    for _ in range(ancount + nscount + arcount):
        offset = skip_name(data, offset)
        if offset + 10 > len(data):
            raise Malformed("record header runs past the message")
        rtype, _rclass, ttl, rdlength = struct.unpack_from("!HHIH", data, offset)
        if rtype != OPT:
            offsets.append(offset + 4)
            lowest = ttl if lowest is None else min(lowest, ttl)
            if rtype == SOA and rdlength >= 20:
                minimum = struct.unpack_from("!I", data, offset + 10 + rdlength - 4)[0]
                lowest = min(lowest, minimum)
        offset += 10 + rdlength
        if offset > len(data):
            raise Malformed("record data runs past the message")
    return offsets, lowest


class AnswerCache:
    def __init__(self, size: int = 10000, max_ttl: int = 3600, clock=time.monotonic):
        self.size = size
        self.max_ttl = max_ttl
        self.clock = clock
        self.hits = self.misses = 0
        self._entries: OrderedDict[tuple, tuple[bytes, list[int], float, float]] = \
            OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, key: tuple, response: bytes) -> bool:
        """Keep `response` if it may be cached; True if it was."""
        if self.size <= 0 or len(response) < 12:
            return False
        flags = struct.unpack_from("!H", response, 2)[0]
        if flags & 0x0200 or (flags & 0x000F) not in (RCODE_NOERROR, RCODE_NXDOMAIN):
            return False                     # truncated, or a failure
        try:
            offsets, lowest = ttl_offsets(response)
        except ValueError:                   # Malformed, or a name running off the end
            return False
        ttl = min(lowest, self.max_ttl) if lowest is not None else 0
        if ttl <= 0:
            return False
        now = self.clock()
        with self._lock:
            self._entries[key] = (response, offsets, now, now + ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return True

    def get(self, key: tuple, query_id: int) -> bytes | None:
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[3] <= now:
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        response, offsets, stored, _expires = entry
        age = int(now - stored)
        out = bytearray(response)
        struct.pack_into("!H", out, 0, query_id)
        for offset in offsets:
            ttl = struct.unpack_from("!I", out, offset)[0]
            struct.pack_into("!I", out, offset, max(0, ttl - age))
        return bytes(out)
