"""The lean HTTP/1.1 pool (`connections.py`) against a scripted server on loopback.

A real TCP server thread answers each request with the bytes a test scripts, so
the framings an API server (or a proxy in front of one) may use are each tried:
Content-Length, chunked, close-delimited, gzip, interim 1xx, keep-alive reuse
and a server that drops an idle connection.
"""

from __future__ import annotations

import gzip
import socket
import threading

import pytest

from supernetes.controlplane.client import ConnectionFailed
from supernetes.controlplane.client.connections import Broken, ConnectionPool, NotSent
from supernetes.controlplane.client.kubeconfig import Connection
from supernetes.controlplane.client.transport import Transport


class ScriptedServer:
    """Answers the n-th request with `script[n]`: bytes, or (bytes, close_after)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[bytes] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        buffer = b""
        with sock:
            while self.script:
                while b"\r\n\r\n" not in buffer:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += sock.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                self.requests.append(head + b"\r\n\r\n" + body)
                answer = self.script.pop(0)
                close = False
                if isinstance(answer, tuple):
                    answer, close = answer
                sock.sendall(answer)
                if close:
                    return

    def close(self) -> None:
        self._listener.close()
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def scripted():
    servers = []

    def start(*script):
        server = ScriptedServer(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def ok(body: bytes, extra: str = "") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def exchange(pool, method="GET", target="/x", body=None, headers=None):
    return pool.exchange(method, target, headers or {}, body, 5.0)


def test_one_request_leaves_in_one_piece_with_host_and_length(scripted):
    server = scripted(ok(b"{}"))
    pool = ConnectionPool("127.0.0.1", server.port)
    exchange(pool, "POST", "/api/v1/namespaces/a/pods/p/binding", b'{"k":1}',
             {"Authorization": "Bearer t"})
    request = server.requests[0]
    assert request.startswith(b"POST /api/v1/namespaces/a/pods/p/binding HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in request
    assert b"Authorization: Bearer t\r\n" in request
    assert b"Content-Length: 7\r\n" in request and request.endswith(b'{"k":1}')
    pool.close()


def test_keep_alive_carries_many_requests_on_one_connection(scripted):
    server = scripted(*[ok(b'{"n":%d}' % i) for i in range(5)])
    pool = ConnectionPool("127.0.0.1", server.port)
    bodies = [exchange(pool)[2] for _ in range(5)]
    assert bodies == [b'{"n":%d}' % i for i in range(5)]
    assert server.connections == 1 and pool.num_connections == 1
    pool.close()


def test_chunked_body_with_extensions_and_trailers_is_reassembled(scripted):
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: y\r\n\r\n")
    server = scripted(chunked, ok(b"next"))
    pool = ConnectionPool("127.0.0.1", server.port)
    status, headers, body = exchange(pool)
    assert (status, body) == (200, b"hello world")
    assert exchange(pool)[2] == b"next"          # the connection was left clean
    assert server.connections == 1
    pool.close()


def test_body_without_length_ends_with_the_connection_which_is_not_reused(scripted):
    server = scripted((b"HTTP/1.1 200 OK\r\n\r\nall of it", True), ok(b"again"))
    pool = ConnectionPool("127.0.0.1", server.port)
    assert exchange(pool)[2] == b"all of it"
    assert exchange(pool)[2] == b"again"
    assert server.connections == 2
    pool.close()


def test_interim_100_is_skipped_and_headers_are_case_insensitive(scripted):
    server = scripted(b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"{}", "retry-after: 3\r\n"))
    pool = ConnectionPool("127.0.0.1", server.port)
    status, headers, _ = exchange(pool)
    assert status == 200
    assert headers["Retry-After"] == "3" and headers.get("RETRY-AFTER") == "3"
    assert "content-type" in headers
    pool.close()


def test_gzip_body_is_decoded_and_head_and_204_have_no_body(scripted):
    packed = gzip.compress(b'{"big":true}')
    server = scripted(ok(packed, "Content-Encoding: gzip\r\n"),
                      b"HTTP/1.1 204 No Content\r\n\r\n",
                      b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", ok(b"last"))
    pool = ConnectionPool("127.0.0.1", server.port)
    assert exchange(pool)[2] == b'{"big":true}'
    assert exchange(pool, "DELETE")[:1] == (204,)
    assert exchange(pool, "HEAD")[2] == b""      # Content-Length of a HEAD is no body
    assert exchange(pool)[2] == b"last"
    assert server.connections == 1
    pool.close()


def test_an_idle_connection_the_server_closed_is_not_used_again(scripted):
    server = scripted((ok(b"first"), True), ok(b"second"))
    pool = ConnectionPool("127.0.0.1", server.port)
    assert exchange(pool)[2] == b"first"
    # The server closed after answering: a POST must not be sent into the dead
    # connection (it could not be retried), so the pool dials again.
    for _ in range(100):                     # until the server's FIN has arrived
        if server.requests and not server._threads[0].is_alive():
            break
        threading.Event().wait(0.01)
    assert exchange(pool, "POST", body=b"{}")[2] == b"second"
    assert pool.num_connections == 2
    pool.close()


def test_a_response_cut_short_is_broken_and_nothing_is_pooled(scripted):
    server = scripted((b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", True))
    pool = ConnectionPool("127.0.0.1", server.port)
    with pytest.raises(Broken):
        exchange(pool)
    assert pool._idle == []
    pool.close()


def test_garbage_instead_of_http_is_broken(scripted):
    server = scripted((b"SSH-2.0-OpenSSH\r\n\r\n", True))
    with pytest.raises(Broken, match="not an HTTP response"):
        exchange(ConnectionPool("127.0.0.1", server.port))


def test_nobody_listening_is_not_sent():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(NotSent) as info:
        exchange(ConnectionPool("127.0.0.1", port))
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_a_line_break_in_a_header_is_refused_before_sending(scripted):
    server = scripted(ok(b"{}"))
    pool = ConnectionPool("127.0.0.1", server.port)
    with pytest.raises(ValueError):
        exchange(pool, headers={"X-Evil": "a\r\nInjected: yes"})
    assert server.requests == []
    pool.close()


def test_transport_retries_a_get_whose_connection_broke_but_not_a_post(scripted):
    cut = (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", True)
    server = scripted(cut, ok(b'{"ok":1}'), cut)
    conn = Connection(server=f"http://127.0.0.1:{server.port}")
    transport = Transport(conn)
    assert transport.request("GET", "/x").json() == {"ok": 1}
    with pytest.raises(ConnectionFailed):
        transport.request("POST", "/x", body=b"{}")
    assert len(server.requests) == 3        # the GET twice, the POST once
    transport.close()


def test_a_body_of_megabytes_arrives_whole_in_either_framing(scripted):
    big = bytes(range(256)) * (6 * 4096)            # 6 MiB, past one bounded read
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(
        b"%x\r\n%s\r\n" % (len(part), part)
        for part in (big[i:i + 1_000_000] for i in range(0, len(big), 1_000_000))) + b"0\r\n\r\n"
    server = scripted(ok(big), chunked)
    pool = ConnectionPool("127.0.0.1", server.port)
    assert exchange(pool)[2] == big
    assert exchange(pool)[2] == big
    assert server.connections == 1
    pool.close()
