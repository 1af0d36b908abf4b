"""Exec over a websocket, the agent's side of Kubernetes' channel.k8s.io protocol.

`kubectl exec` and `superctl exec` open a websocket to the API server, which
relays it to `GET /exec/{ns}/{pod}/{container}?command=..&stdin=..&tty=..` here.
Every binary message starts with a channel byte:

    0 stdin   client -> us, written to the process     3 error   us -> client: the
    1 stdout  us -> client                                       final Status, once
    2 stderr  us -> client (none with a tty)           4 resize  client -> us
                                                                 {"Width", "Height"}
  255 close   v5 only, client -> us: [255, 0] is stdin's EOF

`ExecSession.run` starts the process through the node view (the runtime's
streamed exec: pipes, or a pty allocated inside the container with `tty`) and
runs one select loop over the socket, the process's output and its exit, so
nothing shares the TLS socket across threads. stdin is written without
blocking; while some is pending, the socket is not read (back-pressure instead
of an unbounded buffer). When the process exits, what it wrote is drained
(a pty's last output can trail its exit by a moment; a background child that
keeps the pipe open does not hold the session), the Status goes out on the error
channel (`Success`, or `NonZeroExitCode` with the code in its causes, as the
kubelet writes it), then a close frame.
"""

from __future__ import annotations

import errno
import json
import os
import select
import ssl
from dataclasses import dataclass

from supernetes.runtime.stdio import Stdio

from . import websocket

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
TRUE = ("1", "true", "True")
# After the exit: how long to wait for more output from a pty or a lingering pipe.
DRAIN_QUIET = 0.1
READ_SIZE = 65536


class ExecRequestError(ValueError):
    """The query does not describe a runnable exec (no command, no stream...)."""


@dataclass(frozen=True)
class ExecRequest:
    command: list[str]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def parse_request(query: dict[str, list[str]]) -> ExecRequest:
    """The kubelet's exec options from the query (`command` repeats, flags are "1"/"true")."""
    flag = lambda name: (query.get(name) or [""])[-1] in TRUE  # noqa: E731
    command = query.get("command") or []
    if not command:
        raise ExecRequestError("you must specify at least one command for the container")
    tty = flag("tty")
    request = ExecRequest(command, flag("stdin"), flag("stdout"), flag("stderr") and not tty,
                          tty)
    if not (request.stdin or request.stdout or request.stderr):
        raise ExecRequestError("you must specify at least one of stdin, stdout, stderr")
    return request


def negotiate(offered: str | None) -> str | None:
    """The first of the client's subprotocols (its order of preference) that we speak."""
    for protocol in (p.strip() for p in (offered or "").split(",")):
        if protocol in PROTOCOLS:
            return protocol
    return None


def status_for(code: int, command: list[str]) -> dict:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"{command}, exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def failure(message: str) -> dict:
    return {"metadata": {}, "status": "Failure", "message": message,
            "reason": "InternalError", "code": 500,
            "details": {"causes": [{"message": message}]}}


class ExecSession:
    """One exec: a websocket already upgraded, and the process it drives."""

    def __init__(self, sock, protocol: str, request: ExecRequest, stopping=None) -> None:
        self.sock = sock
        self.protocol = protocol
        self.request = request
        self.stopping = stopping          # threading.Event: the server is shutting down
        self.frames = websocket.FrameReader()
        self.client_open = True
        self.stdin_fd: int | None = None
        self.stdin_pending = bytearray()
        self.stdin_eof = False
        self.outputs: dict[int, int] = {}  # fd -> channel
        self.console: int | None = None
        self.process = None

    # -- lifecycle ---------------------------------------------------------------------

    def run(self, start) -> int | None:
        """Start the process with `start(stdio, tty)` and relay until it ends.

        `start` returns the runtime's running exec (`pid`, `console`, `fileno()`,
        `exit_code()`); if it raises, its message goes to the client as the Status.
        Returns the exit code (None when the process could not start).
        """
        ours, theirs = self._pipes()
        try:
            try:
                process = start(Stdio(stdin=theirs[0], stdout=theirs[1], stderr=theirs[2]),
                                self.request.tty)
            finally:
                for fd in theirs:
                    os.close(fd)
        except Exception as exc:      # whatever it was, the client must hear why
            for fd in ours:
                if fd is not None:
                    os.close(fd)
            self._finish(failure(f"error executing command in container: {exc}"))
            return None
        self.process = process
        self.stdin_fd, out, err = ours
        if self.request.tty:
            self.console = process.console
            self.stdin_fd = os.dup(self.console) if self.request.stdin else None
            self.outputs = {self.console: STDOUT}
        else:
            self.outputs = {fd: ch for fd, ch in ((out, STDOUT), (err, STDERR)) if fd is not None}
        for fd in (self.stdin_fd, *self.outputs):
            if fd is not None:
                os.set_blocking(fd, False)
        try:
            code = process.exit_code() if self._relay(process) else None
        finally:
            process.close()
            self._close_process_side()
        self._finish(status_for(code, self.request.command) if code is not None else
                     failure("the exec session ended before the command"))
        return code

    def _pipes(self) -> tuple[list[int | None], list[int]]:
        """(our ends: stdin writer, stdout reader, stderr reader; the process's ends)."""
        ours: list[int | None] = [None, None, None]
        theirs: list[int] = []
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        wanted = (self.request.stdin, self.request.stdout, self.request.stderr)
        for index, want in enumerate(wanted):
            if not want or self.request.tty:
                theirs.append(os.dup(null))   # never the spawner's own stdio
                continue
            r, w = os.pipe2(os.O_CLOEXEC)
            ours[index], give = (w, r) if index == 0 else (r, w)
            theirs.append(give)
        os.close(null)
        return ours, theirs

    def _close_process_side(self) -> None:
        for fd in {self.stdin_fd, *self.outputs, self.console} - {None}:
            try:
                os.close(fd)
            except OSError:
                pass
        self.stdin_fd, self.outputs, self.console = None, {}, None

    def _finish(self, status: dict) -> None:
        if self.client_open:
            try:
                self._send(ERROR, json.dumps(status).encode())
                self.sock.sendall(websocket.close_frame())
            except OSError:
                pass
        try:
            self.sock.shutdown(2)
        except OSError:
            pass

    # -- the loop ------------------------------------------------------------------------

    def _relay(self, process) -> bool:
        """Relay until the process exits (True) or the client or the server goes (False)."""
        while self.client_open:
            if self.stopping is not None and self.stopping.is_set():
                return False
            readers = [*self.outputs, process]
            if not self.stdin_pending:
                readers.append(self.sock)
            writers = [self.stdin_fd] if self.stdin_pending and self.stdin_fd is not None else []
            pending = self._tls_pending()
            readable, writable, _ = select.select(readers, writers, [], 0 if pending else 1.0)
            if self.sock in readable or (pending and self.sock in readers):
                self._from_client()
            if writable:
                self._write_stdin()
            for fd in readable:
                if fd in self.outputs:
                    self._from_process(fd)
            if process in readable:
                self._drain()
                return True
        return False

    def _drain(self) -> None:
        """After the exit: relay what is left, until the outputs close or go quiet."""
        while self.outputs and self.client_open:
            readable, _, _ = select.select(list(self.outputs), [], [], DRAIN_QUIET)
            if not readable:
                return
            for fd in readable:
                self._from_process(fd)

    def _tls_pending(self) -> bool:
        return isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0

    def _from_client(self) -> None:
        self.sock.setblocking(False)
        try:
            data = self.sock.recv(READ_SIZE)
        except (ssl.SSLWantReadError, BlockingIOError):
            return
        except OSError:
            data = b""
        finally:
            self.sock.setblocking(True)
        if not data:
            self.client_open = False
            return
        try:
            messages = self.frames.feed(data)
        except websocket.ProtocolError:
            self.client_open = False
            return
        for opcode, payload in messages:
            if opcode == websocket.PING:
                self.sock.sendall(websocket.encode(websocket.PONG, payload))
            elif opcode == websocket.CLOSE:
                self.client_open = False
            elif opcode in (websocket.BINARY, websocket.TEXT) and payload:
                self._channel(payload[0], payload[1:])

    def _channel(self, channel: int, data: bytes) -> None:
        if channel == STDIN and self.stdin_fd is not None and not self.stdin_eof:
            self.stdin_pending += data
            self._write_stdin()
        elif channel == RESIZE and self.process is not None and self.console is not None:
            try:
                size = json.loads(data)
                self.process.resize(int(size.get("Height", 0)), int(size.get("Width", 0)))
            except (ValueError, TypeError, AttributeError, OSError):
                pass  # a garbled resize is not worth ending a session for
        elif channel == CLOSE and data[:1] == bytes([STDIN]) and \
                self.protocol.startswith("v5"):
            self.stdin_eof = True
            self._write_stdin()

    def _write_stdin(self) -> None:
        if self.stdin_fd is None:
            return
        try:
            while self.stdin_pending:
                written = os.write(self.stdin_fd, self.stdin_pending)
                del self.stdin_pending[:written]
        except BlockingIOError:
            return
        except OSError:               # the process closed its stdin: drop what is left
            self.stdin_pending.clear()
            self.stdin_eof = True
        if self.stdin_eof and not self.stdin_pending:
            if self.request.tty:
                # A terminal has no half-close: EOF is the line discipline's ^D.
                try:
                    os.write(self.stdin_fd, b"\x04")
                except OSError:
                    pass
            os.close(self.stdin_fd)
            self.stdin_fd = None

    def _from_process(self, fd: int) -> None:
        """Relay one read of the process's output (an end of it closes that output)."""
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:        # EIO: a pty whose last slave closed
            if exc.errno != errno.EIO:
                raise
            data = b""
        if not data:
            del self.outputs[fd]
            if fd != self.console:
                os.close(fd)
            return
        try:
            self._send(self.outputs[fd], data)
        except OSError:
            self.client_open = False

    def _send(self, channel: int, data: bytes) -> None:
        self.sock.sendall(websocket.encode(websocket.BINARY, bytes([channel]) + data))
