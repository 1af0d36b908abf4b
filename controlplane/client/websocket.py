"""A small RFC 6455 websocket client, for the API's streaming subresources (exec, attach).

It opens its own connection through the transport (same TLS settings, same
credentials), sends the upgrade request, checks `Sec-WebSocket-Accept` and then
speaks frames: every frame a client sends is masked (RFC 6455 5.3), pings are
answered, fragmented messages are joined, and a close frame is answered before the
socket is shut. A refused upgrade (the pod does not exist, the user may not exec)
is answered with a normal HTTP error and a Status body, raised as its `ApiError`.

`send` may be called from one thread while another blocks in `recv` (stdin
pumping while output streams back); sends are serialised by a lock.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import threading

from .errors import ApiError, StreamError

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_HEAD = 64 * 1024


def _mask(payload: bytes, key: bytes) -> bytes:
    # XOR as one big integer: a Python loop over bytes would crawl for large writes.
    if not payload:
        return payload
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(len(payload), "big")


class WebSocket:
    def __init__(self, sock: socket.socket, protocol: str, leftover: bytes = b""):
        self.sock = sock
        self.protocol = protocol
        self._buffer = bytearray(leftover)
        self._send_lock = threading.Lock()
        self.closed = False

    @classmethod
    def connect(cls, transport, path: str, params: dict | None, protocols: list[str],
                timeout: float | None = None) -> WebSocket:
        sock = transport.open_socket(timeout)
        try:
            return cls._handshake(sock, transport, path, params, protocols)
        except BaseException:
            sock.close()
            raise

    @classmethod
    def _handshake(cls, sock, transport, path, params, protocols) -> WebSocket:
        key = base64.b64encode(os.urandom(16)).decode()
        host = transport.host if ":" not in transport.host else f"[{transport.host}]"
        lines = [f"GET {transport.url(path, params)} HTTP/1.1",
                 f"Host: {host}:{transport.port}",
                 "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
                 f"Sec-WebSocket-Protocol: {', '.join(protocols)}"]
        lines += [f"{name}: {value}" for name, value in transport.headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = bytearray()
        while b"\r\n\r\n" not in head:
            data = sock.recv(4096)
            if not data:
                raise StreamError(f"{transport.server}: connection closed during the "
                                  "websocket handshake")
            head += data
            if len(head) > MAX_HEAD:
                raise StreamError(f"{transport.server}: websocket handshake reply too large")
        raw_head, _, rest = bytes(head).partition(b"\r\n\r\n")
        status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        try:
            code = int(status_line.split()[1])
        except (IndexError, ValueError) as exc:
            raise StreamError(f"{transport.server}: bad websocket reply {status_line!r}") from exc
        if code != 101:
            body = cls._read_body(sock, headers, rest)
            raise ApiError.from_response(code, body)
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise StreamError(f"{transport.server}: websocket handshake failed "
                              "(bad Sec-WebSocket-Accept)")
        protocol = headers.get("sec-websocket-protocol", "")
        if protocols and protocol not in protocols:
            raise StreamError(f"{transport.server}: the server chose no supported protocol "
                              f"(asked for {', '.join(protocols)})")
        sock.settimeout(None)
        return cls(sock, protocol, rest)

    @staticmethod
    def _read_body(sock, headers: dict, body: bytes) -> bytes:
        length = int(headers.get("content-length") or 0) if "content-length" in headers else None
        try:
            while length is None or len(body) < length:
                data = sock.recv(65536)
                if not data:
                    break
                body += data
                if len(body) > MAX_HEAD:
                    break
        except OSError:
            pass
        return body

    # -- frames ----------------------------------------------------------------------

    def send(self, payload: bytes, opcode: int = BINARY) -> None:
        key = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        frame = header + key + _mask(payload, key)
        with self._send_lock:
            if self.closed:
                raise StreamError("the websocket is closed")
            try:
                self.sock.sendall(frame)
            except OSError as exc:
                raise StreamError(f"websocket send failed: {exc}") from exc

    def recv(self) -> tuple[int, bytes] | None:
        """The next whole message as (opcode, payload); None once the peer closed."""
        message, message_opcode = bytearray(), None
        while True:
            frame = self._read_frame()
            if frame is None:
                return None
            fin, opcode, payload = frame
            if opcode == PING:
                self._control(PONG, payload)
                continue
            if opcode == PONG:
                continue
            if opcode == CLOSE:
                self.close()        # answers the peer's close frame, then shuts the socket
                return None
            if opcode != CONTINUATION:
                message_opcode = opcode
            message += payload
            if fin:
                return message_opcode or BINARY, bytes(message)

    def _control(self, opcode: int, payload: bytes) -> None:
        try:
            self.send(payload, opcode)
        except StreamError:
            pass

    def _read_frame(self):
        head = self._read_exact(2)
        if head is None:
            return None
        fin, opcode = bool(head[0] & 0x80), head[0] & 0x0F
        masked, length = bool(head[1] & 0x80), head[1] & 0x7F
        if length == 126:
            ext = self._read_exact(2)
            length = struct.unpack("!H", ext)[0] if ext else 0
        elif length == 127:
            ext = self._read_exact(8)
            length = struct.unpack("!Q", ext)[0] if ext else 0
        key = self._read_exact(4) if masked else b""
        payload = self._read_exact(length) if length else b""
        if payload is None or key is None:
            return None
        return fin, opcode, _mask(payload, key) if masked else payload

    def _read_exact(self, n: int) -> bytes | None:
        while len(self._buffer) < n:
            try:
                data = self.sock.recv(max(65536, n - len(self._buffer)))
            except OSError:
                data = b""
            if not data:
                return None
            self._buffer += data
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def close(self, code: int = 1000) -> None:
        with self._send_lock:
            if self.closed:
                return
            try:
                key = os.urandom(4)
                payload = struct.pack("!H", code)
                self.sock.sendall(struct.pack("!BB", 0x80 | CLOSE, 0x80 | 2) + key +
                                  _mask(payload, key))
            except OSError:
                pass
            self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
