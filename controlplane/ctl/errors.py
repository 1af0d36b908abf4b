"""Errors as kubectl words them: one line on stderr, never a traceback.

    Error from server (NotFound): pods "x" not found
    The Pod "x" is invalid: spec.containers[0].image: Required value
    The connection to the server 127.0.0.1:6443 was refused - did you specify the right host
        or port?
    Unable to connect to the server https://127.0.0.1:6443: TLS handshake failed: ...
    error: You must be logged in to the server (Unauthorized)
    error: <anything else>
"""

from __future__ import annotations

from urllib.parse import urlparse

from supernetes.controlplane.client import (
    ApiError,
    ClientError,
    ConnectionFailed,
    Invalid,
    Unauthorized,
)

from .context import CtlError


def format_error(exc: BaseException) -> str:
    if isinstance(exc, Invalid):
        return _invalid(exc)
    if isinstance(exc, Unauthorized):
        return f"error: You must be logged in to the server ({exc.message})"
    if isinstance(exc, ApiError):
        if exc.reason:
            return f"Error from server ({exc.reason}): {exc.message}"
        return f"Error from server: {exc.message}"
    if isinstance(exc, ConnectionFailed):
        if exc.refused:
            where = urlparse(exc.url).netloc or exc.url
            return (f"The connection to the server {where} was refused - did you specify "
                    "the right host or port?")
        return f"Unable to connect to the server {exc.url}: {exc.detail}"
    if isinstance(exc, CtlError | ClientError):
        message = str(exc)
        return message if message.startswith("error: ") else f"error: {message}"
    return f"error: {exc}"


def _invalid(exc: Invalid) -> str:
    details = exc.details
    causes = details.get("causes") or []
    if not (details.get("kind") or details.get("name")) or not causes:
        return f"Error from server (Invalid): {exc.message}" if exc.message else \
            "The request is invalid"
    head = f'The {details.get("kind", "")} "{details.get("name", "")}" is invalid'
    texts = [f"{c['field']}: {c.get('message', '')}" if c.get("field") else c.get("message", "")
             for c in causes]
    return f"{head}: {texts[0]}" if len(texts) == 1 else f"{head}: [{', '.join(texts)}]"
