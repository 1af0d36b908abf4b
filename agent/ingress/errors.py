"""The Ingress controller's errors.

    IngressError              the root
     +-- IngressBindError     the listening socket could not be opened (wraps OSError)

Requests never raise: a request that cannot be served gets an HTTP status
(400, 404, 502, 503, 504) with a line saying why.
"""

from __future__ import annotations


class IngressError(Exception):
    """Something the Ingress controller cannot do; the message says what."""


class IngressBindError(IngressError):
    """The proxy's port could not be opened."""
