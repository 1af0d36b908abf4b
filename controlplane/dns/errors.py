"""The cluster DNS server's errors.

    DNSError                 the root: anything the DNS server refuses or cannot do
     +-- DNSConfigError      a bad setting (address, port, upstream, domain)
     +-- DNSBindError        the UDP or TCP socket could not be opened (in use, no
                             such address); wraps the OSError

Queries never raise: a question the server cannot answer gets a DNS response
code (FORMERR, SERVFAIL, REFUSED, NOTIMP), as a resolver expects.
"""

from __future__ import annotations


class DNSError(Exception):
    """Something the cluster DNS server cannot do; the message says what."""


class DNSConfigError(DNSError):
    """A setting is unusable (an address that does not parse, a port out of range)."""


class DNSBindError(DNSError):
    """A listening socket could not be opened."""
