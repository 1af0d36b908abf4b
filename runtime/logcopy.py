"""The monitor as conmon: a container's stdout and stderr copied into a CRI log file.

When a caller asks for a log (`Stdio(log=PATH)`), `create` gives the init two
pipes as stdout and stderr, and the monitor, which lives exactly as long as the
container, reads them and appends one entry per line in the format the kubelet
and CRI runtimes share:

    2026-11-23T10:15:00.123456789Z stdout F a whole line
    2026-11-23T10:15:00.223456789Z stderr P the first 16 KiB of a longer one

(`F` a full line; `P` a partial one: split because it was too long, or the stream
ended without a newline). Past `max_size` bytes the file is rotated:
`x.log` -> `x.log.1` -> ... `x.log.<max_files - 1>`, the oldest dropped.

Because the pipes belong to the monitor, the output survives the caller (the
agent may restart; nothing of the container is lost or blocked), and the
monitor writes the exit record only after it has drained both pipes, so "the
exit record exists" also means "the log is complete". An orphan still holding a
pipe after the init exited (a container's daemon in the host PID namespace) is
given two seconds.
"""

from __future__ import annotations

import os
import select
import signal
import time

CHUNK = 65536
MAX_LINE = 16 * 1024
DRAIN_GRACE = 2.0


def rotate_files(path: str, max_files: int) -> None:
    """`x.log` -> `x.log.1` -> ... -> `x.log.<max_files - 1>`, the oldest dropped;
    with `max_files` 1, `x.log` itself goes. The caller then opens a new `x.log`."""
    for n in range(max_files - 1, 0, -1):
        older = f"{path}.{n}"
        if os.path.exists(older):
            if n + 1 >= max_files:
                os.unlink(older)
            else:
                os.replace(older, f"{path}.{n + 1}")
    if max_files > 1:
        os.replace(path, f"{path}.1")
    else:
        os.unlink(path)


def _stamp() -> bytes:
    ns = time.time_ns()
    seconds, nanos = divmod(ns, 1_000_000_000)
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z").encode()


class CriLog:
    """Appends CRI entries to a file, rotating it by size."""

    def __init__(self, path: str, max_size: int, max_files: int) -> None:
        self.path = path
        self.max_size = max(max_size, 4096)
        self.max_files = max(max_files, 1)
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.size = os.fstat(self.fd).st_size

    def write(self, stream: bytes, data: bytes, partial: bool = False) -> None:
        entry = b"%s %s %s %s\n" % (_stamp(), stream, b"P" if partial else b"F", data)
        while entry:
            written = os.write(self.fd, entry)
            entry = entry[written:]
            self.size += written
        if self.size >= self.max_size:
            self.rotate()

    def rotate(self) -> None:
        os.close(self.fd)
        rotate_files(self.path, self.max_files)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                          0o640)
        self.size = 0

    def lines(self, stream: bytes, data: bytes) -> bytes:
        """Write every whole line of `data`; return the unfinished rest."""
        *whole, rest = data.split(b"\n")
        for line in whole:
            while len(line) > MAX_LINE:
                self.write(stream, line[:MAX_LINE], partial=True)
                line = line[MAX_LINE:]
            self.write(stream, line)
        while len(rest) > MAX_LINE:
            self.write(stream, rest[:MAX_LINE], partial=True)
            rest = rest[MAX_LINE:]
        return rest

    def close(self) -> None:
        os.close(self.fd)


def copy_until_exit(log: CriLog, stdout_r: int, stderr_r: int, init_pid: int) -> int:
    """Copy both pipes into `log` until the init has exited and they are drained.

    Reaps every child meanwhile (the monitor is a subreaper: the container's
    orphans come to it); returns the init's wait status.
    """
    wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so SIGCHLD wakes select
    streams = {stdout_r: [b"stdout", b""], stderr_r: [b"stderr", b""]}
    status = None
    drain_until = None
    while streams:
        if status is None:
            status = _reap(init_pid)
            if status is not None:
                drain_until = time.monotonic() + DRAIN_GRACE
        timeout = None if drain_until is None else drain_until - time.monotonic()
        if timeout is not None and timeout <= 0:
            break
        try:
            ready, _, _ = select.select([*streams, wake_r], [], [], timeout)
        except InterruptedError:
            continue
        for fd in ready:
            if fd == wake_r:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                continue
            data = os.read(fd, CHUNK)
            name, pending = streams[fd]
            if not data:
                if pending:
                    log.write(name, pending, partial=True)
                del streams[fd]
                continue
            streams[fd][1] = log.lines(name, pending + data)
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while status is None:
        status = _reap(init_pid, block=True)
    return status


def _reap(init_pid: int, block: bool = False) -> int | None:
    while True:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return 255 << 8 if block else None
        if pid == 0:
            return None
        if pid == init_pid:
            return status
