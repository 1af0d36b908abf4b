"""A container process's standard streams: inherited, files, pipes, or a terminal.

`Stdio` is what a caller asks for. Each of stdin/stdout/stderr may be:

    None        inherit the caller's (the CLI's default, as runc does)
    an int      an open descriptor (a pipe end, a log file the agent opened)
    a str       a path: stdin is opened for reading, stdout/stderr appended to

With a terminal (`process.terminal`, `-t`) the process instead gets the slave side
of a pseudo-terminal allocated *inside the container* (from its own devpts
instance, so `tty` and job control work there), and the master side travels back
over a unix socket with SCM_RIGHTS, as runc's `--console-socket` does. The caller
either proxies it (`superc run -t`, `exec -t`) or is the console socket's owner.

`socket`, `termios` and `select` are imported only on the terminal path.
"""

from __future__ import annotations

import fcntl
import os
import struct

from . import explain, linux
from .record import Record

_TIOCSPTLCK = 0x40045431  # unlock the pty slave
_TIOCGPTPEER = 0x5441  # open the slave through the master (Linux 4.13+)
_TIOCSCTTY = 0x540E
_TIOCGWINSZ = 0x5413
_TIOCSWINSZ = 0x5414


class Stdio(Record):
    stdin: int | str | None = None
    stdout: int | str | None = None
    stderr: int | str | None = None


def open_stdio(stdio: Stdio) -> tuple[list[int | None], list[int]]:
    """Descriptors to become 0, 1, 2 in the child (None: keep), and those we opened."""
    fds: list[int | None] = []
    opened: list[int] = []
    try:
        for i, spec in enumerate((stdio.stdin, stdio.stdout, stdio.stderr)):
            if isinstance(spec, str):
                flags = os.O_RDONLY if i == 0 else os.O_WRONLY | os.O_CREAT | os.O_APPEND
                fd = os.open(spec, flags | os.O_CLOEXEC, 0o640)
                opened.append(fd)
                fds.append(fd)
            else:
                fds.append(spec)
    except OSError:
        for fd in opened:
            os.close(fd)
        raise
    return fds, opened


def install_stdio(fds: list[int | None]) -> None:
    """In the child: put the requested descriptors on 0, 1, 2 (dup2 clears CLOEXEC)."""
    for target, fd in enumerate(fds):
        if fd is not None and fd != target:
            os.dup2(fd, target)
        elif fd == target:
            os.set_inheritable(fd, True)


# --- terminals ------------------------------------------------------------------------------

def open_pty(ptmx: str, size: tuple[int, int] | None) -> tuple[int, int, int]:
    """Allocate a pty from the devpts whose ptmx is at `ptmx`: (master, slave, number)."""
    explain.step(f'open("{ptmx}", O_RDWR|O_NOCTTY)')
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
    number = struct.unpack("I", fcntl.ioctl(master, 0x80045430, b"\0" * 4))[0]  # TIOCGPTN
    slave = fcntl.ioctl(master, _TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
    if size and size[0] and size[1]:
        set_winsize(master, size[0], size[1])
    return master, slave, number


def make_controlling(slave: int) -> None:
    """Become a session leader with `slave` as controlling terminal and stdio."""
    linux.setsid()
    explain.step(f"ioctl({slave}, TIOCSCTTY, 0)")
    fcntl.ioctl(slave, _TIOCSCTTY, 0)
    for target in (0, 1, 2):
        os.dup2(slave, target)
    if slave > 2:
        os.close(slave)


def set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, _TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def get_winsize(fd: int) -> tuple[int, int] | None:
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, _TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    return rows, cols


def send_master(sock_fd: int, master: int, name: str) -> None:
    """Send the pty master over a connected unix socket (the console socket)."""
    import socket

    sock = socket.socket(fileno=os.dup(sock_fd))
    try:
        socket.send_fds(sock, [name.encode()], [master])
    finally:
        sock.close()


def recv_master(sock: object) -> int:
    """Receive the pty master that `send_master` sent on the socket `sock`."""
    import socket

    _, fds, _, _ = socket.recv_fds(sock, 1024, 1)
    if not fds:
        raise OSError("no terminal descriptor received on the console socket")
    return fds[0]


def console_pair() -> tuple[object, int]:
    """A socketpair for a caller that proxies the terminal itself: (our socket, child's fd)."""
    import socket

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return ours, theirs.detach()


def connect_console_socket(path: str) -> int:
    """Connect to runc-style `--console-socket PATH`; returns the descriptor."""
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock.detach()


def proxy(master: int, done_fd: int | None = None) -> None:
    """Copy our stdin to the pty and the pty to our stdout until the terminal closes.

    Our own terminal (if stdin is one) goes raw meanwhile, so keys like ^C reach the
    container's terminal instead of killing us; it is restored on the way out.
    """
    import select
    import termios
    import tty

    saved = None
    if os.isatty(0):
        saved = termios.tcgetattr(0)
        tty.setraw(0)
        size = get_winsize(0)
        if size:
            set_winsize(master, *size)
    try:
        watch = [master, 0]
        while True:
            readable, _, _ = select.select(watch, [], [])
            if master in readable:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every slave descriptor is closed
                    data = b""
                if not data:
                    return
                _write_all(1, data)
            if 0 in readable:
                data = os.read(0, 65536)
                if not data:
                    watch.remove(0)  # stdin closed; keep copying output
                else:
                    _write_all(master, data)
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        n = os.write(fd, data)
        data = data[n:]
