"""The parent/child synchronisation channel used while a process is being set up.

A container is born in three forks (see create.py). The caller (the `superc`
process or the spawner) must learn the init's PID, run OCI hooks at the right
moment, write ID maps for a new user namespace, and hear about any failure in
the child *as a message* rather than a dead process. runc uses a socketpair and
a tiny protocol (procReady, procHooks, procRun); we use a pair of pipes carrying
one JSON object per line. Writes below PIPE_BUF (4 KiB) are atomic, so the
nsexec child and the init can share the child-to-parent pipe.

Messages (child -> parent): {"userns": pid}, {"pid": pid}, {"hooks": true},
{"ready": true}, {"error": "..."}; (parent -> child): {"ok": true}.
Pipes, not a socket: `socket` is not on superc's import path unless a terminal
is involved.
"""

from __future__ import annotations

import os

from . import fastjson


class Channel:
    """One end of the channel: read from `rfd`, write to `wfd`."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd = rfd
        self.wfd = wfd
        self._buf = b""

    def fds(self) -> tuple[int, int]:
        return self.rfd, self.wfd

    def send(self, **message: object) -> None:
        data = fastjson.dumps(message).encode() + b"\n"
        if len(data) > 4000:  # keep every message one atomic pipe write
            # (600 characters stay below 4000 bytes even as \\uXXXX escapes)
            message = {"error": str(message.get("error", ""))[:600] or "message too long"}
            data = fastjson.dumps(message).encode() + b"\n"
        os.write(self.wfd, data)

    def recv(self) -> dict | None:
        """The next message, or None once every writer has closed the pipe."""
        while b"\n" not in self._buf:
            chunk = os.read(self.rfd, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return fastjson.loads(line)

    def close(self) -> None:
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass


def channel_pair() -> tuple[Channel, Channel]:
    """(parent end, child end); the pipes close on exec, so the user program never sees them."""
    down_r, down_w = os.pipe2(os.O_CLOEXEC)
    up_r, up_w = os.pipe2(os.O_CLOEXEC)
    return Channel(up_r, down_w), Channel(down_r, up_w)
