"""The server's end of an RFC 6455 websocket, for the agent's exec API.

The API server relays a client's upgrade request to the agent byte for byte
(`controlplane/apiserver/nodeproxy.py`), so the agent is the end that accepts
the websocket: it answers the handshake (`accept`), reads the client's frames,
which arrive masked (RFC 6455 5.3), and writes its own unmasked.

`FrameReader` parses incrementally: the exec session runs one select loop over
the socket and the process's pipes, and feeds it whatever bytes the socket had,
getting back the whole messages they completed (fragments joined, control
frames passed through as they come). The client side of the protocol lives in
`controlplane/client/websocket.py`.
"""

from __future__ import annotations

import base64
import hashlib
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
# A client has no business sending more than a resize or a stdin chunk at once.
MAX_MESSAGE = 16 * 2**20


class ProtocolError(Exception):
    """The peer broke RFC 6455 (unmasked frame, oversized message, bad opcode)."""


def accept(key: str, protocol: str | None) -> bytes:
    """The `101 Switching Protocols` answer to a handshake carrying `Sec-WebSocket-Key`."""
    digest = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Accept: {digest}"]
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def encode(opcode: int, payload: bytes = b"") -> bytes:
    """One final, unmasked frame (servers never mask)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
    return header + payload


def close_frame(code: int = 1000) -> bytes:
    return encode(CLOSE, struct.pack("!H", code))


def _unmask(payload: bytes, key: bytes) -> bytes:
    # XOR as one big integer: a Python loop over the bytes would crawl on large input.
    if not payload:
        return payload
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big")


class FrameReader:
    """Bytes in, whole messages out: `feed(data)` -> [(opcode, payload), ...]."""

    def __init__(self, leftover: bytes = b"") -> None:
        self._buffer = bytearray(leftover)
        self._fragments = bytearray()
        self._fragment_opcode: int | None = None

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        messages = []
        while (frame := self._next_frame()) is not None:
            fin, opcode, payload = frame
            if opcode >= CLOSE:                   # control frames are never fragmented
                messages.append((opcode, payload))
                continue
            if opcode != CONTINUATION:
                self._fragment_opcode = opcode
            elif self._fragment_opcode is None:
                raise ProtocolError("a continuation frame with nothing to continue")
            self._fragments += payload
            if len(self._fragments) > MAX_MESSAGE:
                raise ProtocolError(f"message larger than {MAX_MESSAGE} bytes")
            if fin:
                messages.append((self._fragment_opcode, bytes(self._fragments)))
                self._fragments.clear()
                self._fragment_opcode = None
        return messages

    def _next_frame(self) -> tuple[bool, int, bytes] | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        fin, opcode = bool(buf[0] & 0x80), buf[0] & 0x0F
        if opcode not in (CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG):
            raise ProtocolError(f"unknown opcode {opcode:#x}")
        if not buf[1] & 0x80:
            raise ProtocolError("a client frame must be masked")
        length, offset = buf[1] & 0x7F, 2
        if length == 126:
            if len(buf) < 4:
                return None
            length, offset = struct.unpack_from("!H", buf, 2)[0], 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length, offset = struct.unpack_from("!Q", buf, 2)[0], 10
        if length > MAX_MESSAGE:
            raise ProtocolError(f"frame larger than {MAX_MESSAGE} bytes")
        end = offset + 4 + length
        if len(buf) < end:
            return None
        key = bytes(buf[offset:offset + 4])
        payload = _unmask(bytes(buf[offset + 4:end]), key)
        del buf[:end]
        return fin, opcode, payload
