"""gunicorn's response, sending its header and a small body in one write.

gunicorn writes a response's header and its body separately: on a TLS socket
that is two records and two system calls, and in the API server's threaded
worker (worker.py) each socket call is a chance to lose the GIL to another busy
thread and wait to get it back. `OneWriteResponse` holds the header back until
the first body bytes (or the end) and sends both together.
"""

from __future__ import annotations

from gunicorn.http import wsgi

# A body larger than this leaves in its own write after the header: copying it to
# join the two costs more than the system call it saves.
ONE_WRITE_MAX = 64 * 1024


class _Collector:
    """Takes the place of the socket while gunicorn writes a response: keeps the bytes,
    so that header and body leave in one write. Anything else goes to the socket."""

    def __init__(self, sock):
        self._sock = sock
        self.parts: list[bytes] = []

    def sendall(self, data) -> None:
        self.parts.append(bytes(data))

    def send(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts = []
        return data

    def __getattr__(self, name):
        return getattr(self._sock, name)


class OneWriteResponse(wsgi.Response):
    """gunicorn's response, with the header held back until the first body bytes (or the
    end), then both sent in one write, unless the body is big (`ONE_WRITE_MAX`). Later
    writes (a streamed watch) go straight out."""

    def write(self, arg):
        if self.headers_sent or len(arg) > ONE_WRITE_MAX:
            return super().write(arg)
        self._collecting(super().write, arg)

    def close(self):
        if self.headers_sent and not self.chunked:
            return super().close()
        self._collecting(super().close)

    def _collecting(self, method, *args):
        sock = self.sock
        collector = self.sock = _Collector(sock)
        try:
            method(*args)
        finally:
            self.sock = sock
        data = collector.take()
        if data:
            sock.sendall(data)
