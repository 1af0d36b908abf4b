"""The fast path's reader: a query's header and question straight from the wire.

Almost every query a pod sends is the same shape: one question, no answers, at
most an EDNS OPT record. `read_query` reads exactly that shape (name, type,
class, the OPT's payload size and DO bit) with a few slices and no dnslib
objects, so that the server can answer a repeated question from bytes it
already encoded (server.py) or from the forwarding cache (cache.py). Anything
else (compression in the question, several questions, other records, labels
with dots or non-ASCII bytes) returns None and goes through dnslib's full parse.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

OPT = 41


@dataclass(frozen=True)
class Query:
    id: int
    flags: int
    question: bytes          # the question section as sent (name, type, class)
    name: str                # lower case, with the trailing dot
    qtype: int
    qclass: int
    opt: bytes               # the OPT record as sent, b"" without EDNS
    udp_size: int            # the asker's EDNS payload size, 0 without EDNS
    dnssec_ok: bool


def skip_name(data: bytes, offset: int) -> int:
    """The offset just past the (possibly compressed) name at `offset`."""
    while True:
        if offset >= len(data):
            raise ValueError("name runs past the message")
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:          # a compression pointer ends the name
            return offset + 2
        offset += 1 + length


def read_query(message: bytes) -> Query | None:
    if len(message) < 17:
        return None
    message = bytes(message)                 # slices of it become dictionary keys
    query_id, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!6H", message)
    if flags & 0x8000 or qdcount != 1 or ancount or nscount or arcount > 1:
        return None
    labels, offset = [], 12
    while True:
        length = message[offset]
        if length == 0:
            offset += 1
            break
        if length > 63 or offset + 1 + length > len(message):
            return None                     # a pointer, or a label running off the end
        label = message[offset + 1:offset + 1 + length]
        if not label.isascii() or b"." in label or not label.decode().isprintable():
            return None
        labels.append(label.decode("ascii"))
        offset += 1 + length
    if offset + 4 > len(message):
        return None
    qtype, qclass = struct.unpack_from("!HH", message, offset)
    question_end = offset + 4
    opt, udp_size, dnssec_ok = b"", 0, False
    if arcount:
        rest = message[question_end:]
        if len(rest) < 11 or rest[0] != 0:
            return None
        rtype, size, ttl, rdlength = struct.unpack_from("!HHIH", rest, 1)
        if rtype != OPT or 11 + rdlength != len(rest):
            return None
        opt, udp_size, dnssec_ok = rest, size, bool(ttl & 0x8000)
    elif question_end != len(message):
        return None
    name = ".".join(labels).lower() + "."
    return Query(query_id, flags, message[12:question_end], name, qtype, qclass, opt,
                 udp_size, dnssec_ok)
