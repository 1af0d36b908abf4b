"""Connections from the API server to node agents: mutual TLS, raw HTTP/1.1, relays.

The API server calls an agent (`agent/server.py` on the node, port 10250) with
its kubelet-client certificate (`nodecerts.kubelet_client`) and checks the
agent's: it must chain to the cluster CA and name `system:node:<the node we
meant>`; an address that now belongs to another node is refused, whatever its
certificate. One connection per request, closed after it (`Connection: close`),
so a response ends where the connection ends: no chunked decoding, and the same
code relays a log follow, a stats summary and an upgraded exec stream.

Relays watch both sides with `select`, so a client that goes away is noticed
within a second even while the agent is silent (a quiet `logs -f`), and the
agent's connection closed with it. TLS sockets may hold decrypted bytes that
`select` cannot see: `pending()` is checked first. An upgraded stream is
relayed in one thread, both directions, so no TLS socket is used by two threads;
its first bytes from the agent may be held until the client speaks (`relay`).
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from . import nodecerts

CONNECT_TIMEOUT = 10.0
MAX_HEAD = 64 * 1024
CHUNK = 65536
# How often a quiet relay looks whether its client is still there.
CLIENT_CHECK = 1.0


class AgentError(Exception):
    """The agent could not be reached, or is not who it should be."""


class AgentDialer:
    def __init__(self, pki_dir: Path) -> None:
        self.pki_dir = Path(pki_dir)
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def context(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                cert, key = nodecerts.kubelet_client(self.pki_dir)
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                # The identity checked is the node's name in the certificate, not the
                # address dialled (see `open`): host names are not checked.
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(cafile=str(self.pki_dir / "ca.crt"))
                ctx.load_cert_chain(cert, key)
                self._context = ctx
            return self._context

    def open(self, node: str, host: str, port: int) -> ssl.SSLSocket:
        where = f"{host}:{port}"
        try:
            raw = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            raise AgentError(f"dial tcp {where}: {exc.strerror or exc}") from exc
        try:
            sock = self.context().wrap_socket(raw, server_hostname=host)
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            raise AgentError(f"TLS handshake with {where}: {exc}") from exc
        subject = dict(item for rdn in (sock.getpeercert() or {}).get("subject", ())
                       for item in rdn)
        if subject.get("commonName") != f"system:node:{node}":
            sock.close()
            raise AgentError(f"the agent at {where} is {subject.get('commonName')!r}, not "
                             f"node {node}")
        sock.settimeout(None)
        return sock


def send_request(sock: ssl.SSLSocket, method: str, target: str, host: str,
                 headers: dict[str, str]) -> None:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def read_head(sock: ssl.SSLSocket) -> tuple[int, dict[str, str], bytes, bytes]:
    """(status, lower-cased headers, the raw head, body bytes already read)."""
    data = bytearray()
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(CHUNK)
        if not chunk:
            raise AgentError("the agent closed the connection before answering")
        data += chunk
        if len(data) > MAX_HEAD:
            raise AgentError("the agent's response head is too large")
    head, _, rest = bytes(data).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(status_line.split()[1])
    except (IndexError, ValueError) as exc:
        raise AgentError(f"the agent answered {status_line!r}") from exc
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, head + b"\r\n\r\n", rest


def _readable(socks: list, timeout: float) -> list:
    ready = [s for s in socks if isinstance(s, ssl.SSLSocket) and s.pending()]
    if ready:
        return ready
    return select.select(socks, [], [], timeout)[0]


def body(upstream: ssl.SSLSocket, first: bytes, length: int | None,
         client) -> Iterator[bytes]:
    """The agent's response body, chunk by chunk, until its end or the client's."""
    try:
        sent = 0
        if first:
            first = first if length is None else first[:length]
            sent += len(first)
            yield first
        while length is None or sent < length:
            watched = [upstream] + ([client] if client is not None else [])
            ready = _readable(watched, CLIENT_CHECK)
            if client is not None and client in ready:
                return               # a GET's client sends nothing more: this is its close
            if upstream not in ready:
                continue
            data = upstream.recv(CHUNK if length is None else min(CHUNK, length - sent))
            if not data:
                return
            sent += len(data)
            yield data
    finally:
        upstream.close()


def relay(client, upstream: ssl.SSLSocket, *, held: bytes = b"", hold: float = 0.0) -> None:
    """Copy bytes both ways until either side closes.

    The agent's bytes (`held`, read with its answer's head, then the rest) wait
    until the client has said something or `hold` seconds have passed: see
    `nodeproxy.OUTPUT_HOLD` for the client that needs this.
    """
    try:
        if not _client_first(client, upstream, hold):
            return
        if held:
            client.sendall(held)
        _copy(client, upstream)
    except OSError:
        return
    finally:
        for sock in (client, upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _client_first(client, upstream: ssl.SSLSocket, hold: float) -> bool:
    """Wait up to `hold` seconds for the client's first bytes, and pass them on.

    False when the client left meanwhile. The agent is not read meanwhile: what it
    sends waits in its connection.
    """
    deadline = time.monotonic() + hold
    while (left := deadline - time.monotonic()) > 0:
        if not _readable([client], left):
            return True
        try:
            data = client.recv(CHUNK)
        except (ssl.SSLWantReadError, BlockingIOError):
            continue            # a TLS record still incomplete (or not application data)
        if not data:
            return False
        upstream.sendall(data)
        return True
    return True


def _copy(a, b) -> None:
    peers = {a: b, b: a}
    while True:
        for sock in _readable([a, b], 60.0):
            try:
                data = sock.recv(CHUNK)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            except OSError:
                data = b""
            if not data:
                return
            peers[sock].sendall(data)
