"""The Kubernetes streaming protocol for `pods/exec` (and attach) over a websocket.

kubectl 1.30+ offers `v5.channel.k8s.io` first, then `v4.channel.k8s.io`; the
server picks one. Every binary message starts with a channel byte:

    0 stdin   (client -> server)        3 error   (server -> client, a Status, once)
    1 stdout  (server -> client)        4 resize  (client -> server, {"Width", "Height"})
    2 stderr  (server -> client)      255 close   (v5 only, client -> server: [255, ch]
                                                   half-closes a channel, i.e. stdin EOF)

The error channel's Status says how the command ended: `Success`, or `Failure`
with reason `NonZeroExitCode` and the code in `details.causes[ExitCode]`; any
other Failure (no such container, the command could not start) is an error.
v4 cannot half-close stdin, so with v4 a command reading stdin to its end only
learns of EOF when the connection closes (kubectl has the same limit).

The session pings the server as soon as it is open: our API server holds the
command's output from a client that has said nothing yet, for a moment, for
the sake of kubectl (`apiserver/nodeproxy.py`); this client is ready to read
from the start and says so.
"""

from __future__ import annotations

import json
import threading
from typing import BinaryIO

from .errors import StreamError
from .websocket import PING, WebSocket

PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def exit_code_of(status: dict) -> int:
    """The command's exit code from the error channel's Status; raises for other failures."""
    if status.get("status") == "Success":
        return 0
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                try:
                    return int(cause.get("message"))
                except (TypeError, ValueError):
                    break
        return 1
    raise StreamError(status.get("message") or "the command failed")


class ExecSession:
    def __init__(self, ws: WebSocket, *, stdin: bool, tty: bool):
        self.ws = ws
        self.protocol = ws.protocol
        self.stdin_enabled = stdin
        self.tty = tty
        self.status: dict | None = None

    @classmethod
    def open(cls, transport, path: str, params: dict, *, stdin: bool, tty: bool) -> ExecSession:
        ws = WebSocket.connect(transport, path, params, PROTOCOLS)
        try:
            ws.send(b"", PING)
        except BaseException:
            ws.close()
            raise
        return cls(ws, stdin=stdin, tty=tty)

    # -- client -> server ------------------------------------------------------------

    def write_stdin(self, data: bytes) -> None:
        self.ws.send(bytes([STDIN]) + data)

    def close_stdin(self) -> None:
        if self.protocol.startswith("v5"):
            self.ws.send(bytes([CLOSE, STDIN]))

    def resize(self, width: int, height: int) -> None:
        self.ws.send(bytes([RESIZE]) + json.dumps({"Width": width, "Height": height}).encode())

    # -- server -> client ------------------------------------------------------------

    def read(self) -> tuple[int, bytes] | None:
        """The next (channel, data); None at the end of the stream. The error channel's
        Status is kept in `self.status`."""
        while True:
            message = self.ws.recv()
            if message is None:
                return None
            _, payload = message
            if not payload:
                continue
            channel, data = payload[0], payload[1:]
            if channel == ERROR:
                try:
                    self.status = json.loads(data) if data else None
                except ValueError:
                    self.status = {"status": "Failure", "message": data.decode(errors="replace")}
                continue
            return channel, data

    def run(self, stdin: BinaryIO | None, stdout: BinaryIO, stderr: BinaryIO) -> int:
        """Pump stdin to the command and its output back until it ends; its exit code."""
        pump = None
        if stdin is not None and self.stdin_enabled:
            pump = threading.Thread(target=self._pump_stdin, args=(stdin,), daemon=True,
                                    name="exec-stdin")
            pump.start()
        try:
            while (message := self.read()) is not None:
                channel, data = message
                out = stdout if channel == STDOUT or self.tty else stderr
                out.write(data)
                out.flush()
        finally:
            self.close()
        if self.status is None:
            # v4/v5 servers always send a Status; a bare close means the stream broke.
            raise StreamError("the exec stream ended without an exit status")
        return exit_code_of(self.status)

    def _pump_stdin(self, stdin: BinaryIO) -> None:
        read = getattr(stdin, "read1", None) or stdin.read
        try:
            while data := read(65536):
                self.write_stdin(data)
            self.close_stdin()
        except (StreamError, OSError, ValueError):
            pass

    def close(self) -> None:
        self.ws.close()
