"""Small real HTTP servers for the Ingress tests: each answers with its own name.

`Backend(name, host)` listens on `host` (any 127.x address: Linux routes the whole
of 127.0.0.0/8 to loopback, so several backends can share one port number on
different addresses, as pods do) and answers:

    GET  /anything        200, body "<name> <path>", X-Backend: <name>, and the
                          request's headers echoed as X-Seen-<Header>
    POST /echo            the request body back (chunked or sized requests)
    GET  /chunked         a chunked response of three chunks
    GET  /close           an HTTP/1.0-style response ended by closing
    GET  /slow?s=N        answers after N seconds
    GET  /ws (Upgrade)    101 Switching Protocols, then echoes raw bytes upper-cased

`get(port, host, path)` is one request on a fresh connection with that Host.
"""

from __future__ import annotations

import http.client
import http.server
import threading
import time
from collections import Counter
from urllib.parse import parse_qs, urlparse


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass            # a client (the proxy) that gave up on a slow answer: expected


class Backend:
    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0):
        self.name = name
        self.hits: Counter = Counter()
        self.server = _QuietServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.host, self.port = self.server.server_address[:2]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Backend:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, **headers) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Backend", backend.name)
                for key in ("X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
                            "X-Forwarded-Port", "X-Real-IP", "Host", "Connection"):
                    if self.headers.get(key) is not None:
                        self.send_header(f"X-Seen-{key}", self.headers[key])
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                backend.hits[self.path] += 1
                url = urlparse(self.path)
                if url.path == "/chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.send_header("X-Backend", backend.name)
                    self.end_headers()
                    for part in (b"one,", b"two,", b"three"):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                elif url.path == "/close":
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(f"{backend.name} until close".encode())
                    self.close_connection = True
                elif url.path == "/ws" and self.headers.get("Upgrade"):
                    self.send_response(101)
                    self.send_header("Upgrade", self.headers["Upgrade"])
                    self.send_header("Connection", "Upgrade")
                    self.end_headers()
                    self.wfile.flush()
                    while data := self.connection.recv(4096):
                        self.connection.sendall(data.upper())
                    self.close_connection = True
                else:
                    seconds = float(parse_qs(url.query).get("s", ["0"])[0])
                    time.sleep(seconds)
                    self._send(200, f"{backend.name} {self.path}".encode())

            def do_HEAD(self):
                self.send_response(200)
                self.send_header("Content-Length", "1234")
                self.end_headers()

            def do_POST(self):
                backend.hits[self.path] += 1
                if "chunked" in self.headers.get("Transfer-Encoding", ""):
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._send(200, body)

        return Handler


def get(port: int, host: str, path: str = "/", method: str = "GET", body=None,
        headers=None, chunked: bool = False) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})},
                     encode_chunked=chunked)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()
