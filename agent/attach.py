"""Attach, the agent's side: a container's output as it comes, on the exec protocol's channels.

`kubectl attach POD` reaches `GET /attach/{ns}/{pod}/{container}?stdout=1&stderr=1`
here (websocket, channel.k8s.io v4/v5, as exec). The containers the agent runs
read /dev/null and have no terminal (`stdin` and `tty` in a pod spec are not
supported), so attaching is following their output: the CRI log from now on,
each entry on the channel of the stream it came from (stdout 1, stderr 2),
until the container exits (then a `Success` Status, as the kubelet sends) or
the client leaves. Asking for stdin or a tty is refused before the upgrade.

One thread does it all: the follow loop (`logs.follow_entries`) polls, and
between polls looks at the socket for the client's close (or its pings).
"""

from __future__ import annotations

import json
import select
import ssl

from . import logs, websocket
from .exec_stream import ERROR, STDERR, STDOUT, status_for

CHANNELS = {"stdout": STDOUT, "stderr": STDERR}


class AttachSession:
    def __init__(self, sock, want_stdout: bool, want_stderr: bool, stopping) -> None:
        self.sock = sock
        self.wanted = {STDOUT: want_stdout, STDERR: want_stderr}
        self.stopping = stopping
        self.frames = websocket.FrameReader()
        self.client_open = True

    def run(self, log_path: str, still_running) -> None:
        """Relay the container's output until it exits (`still_running` false) or we stop."""

        def go_on() -> bool:
            return self._client_still_there() and not self.stopping.is_set() and \
                still_running()

        try:
            for batch in logs.follow_entries(log_path, go_on):
                for entry in batch:
                    channel = CHANNELS[entry.stream]
                    if self.wanted[channel]:
                        body = entry.content + (b"" if entry.partial else b"\n")
                        self.sock.sendall(websocket.encode(websocket.BINARY,
                                                           bytes([channel]) + body))
            if self.client_open and not self.stopping.is_set():
                self.sock.sendall(websocket.encode(
                    websocket.BINARY, bytes([ERROR]) + json.dumps(status_for(0, [])).encode()))
                self.sock.sendall(websocket.close_frame())
        except OSError:
            pass                      # the client went away mid-write
        finally:
            try:
                self.sock.shutdown(2)
            except OSError:
                pass

    def _client_still_there(self) -> bool:
        """Drain what the client sent (pings, a close, ignored input); False once it left."""
        while self.client_open:
            pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0
            if not pending and not select.select([self.sock], [], [], 0)[0]:
                return True
            self.sock.setblocking(False)
            try:
                data = self.sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                return True
            except OSError:
                data = b""
            finally:
                self.sock.setblocking(True)
            try:
                messages = self.frames.feed(data) if data else [(websocket.CLOSE, b"")]
            except websocket.ProtocolError:
                messages = [(websocket.CLOSE, b"")]
            for opcode, payload in messages:
                if opcode == websocket.PING:
                    self.sock.sendall(websocket.encode(websocket.PONG, payload))
                elif opcode == websocket.CLOSE:
                    self.client_open = False
        return False
