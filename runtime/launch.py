"""What a new container's processes inherit from their creator across fork().

A container is made by forks from one single-threaded caller (the `superc`
process or the spawner), never by exec'ing a helper binary:

    caller --fork--> monitor --fork--> init (PID 1)
    create.py        monitor.py        init.py, entering its namespaces (nsexec.py)

and, only when a new user namespace is made, with an nsexec child in between
that creates the namespaces and forks the init (see nsexec.py for why).
Each child simply continues with the objects the caller built, so nothing is
serialised; `Launch` gathers them in one place, and `keep_fds()` says which
descriptors must survive when the monitor closes everything else it inherited
(in the spawner that includes other clients' sockets).
"""

from __future__ import annotations

import _signal
import os

from . import explain
from .cgroups.base import Manager
from .config import Config
from .record import Record
from .state import StateDir
from .sync import Channel


class Launch(Record):
    config: Config
    manager: Manager
    state_dir: StateDir
    channel: Channel  # the child's end of the sync channel
    stdio_fds: list  # what becomes 0, 1, 2 in the init (None: inherited as is)
    console_fd: int | None = None  # unix socket the pty master is sent over
    fifo_path: str = ""
    report_fd: int = -1  # nsexec child -> monitor: the init's PID (write end), if any
    cgroup_ready_fd: int = -1  # monitor -> init: "1" once the init is in its cgroup
    log: object = None  # a logcopy.CriLog spec (path, sizes) when the monitor writes a log
    log_fds: tuple = ()  # the read ends of the init's stdout and stderr pipes

    def keep_fds(self) -> set[int]:
        keep = {0, 1, 2, *self.channel.fds()}
        keep.update(fd for fd in self.stdio_fds if fd is not None)
        keep.update(self.log_fds)
        if self.console_fd is not None:
            keep.add(self.console_fd)
        trace = explain.fileno()
        if trace is not None:
            keep.add(trace)
        return keep


def close_fds_except(keep: set[int]) -> None:
    """Close every descriptor not in `keep` (what a forked helper inherited by accident).

    One closerange() per gap between the kept descriptors: close_range(2) on Linux
    5.9+, so no listing of /proc/self/fd and no close() per descriptor.
    """
    low = 0
    for fd in sorted(keep):
        if fd > low:
            os.closerange(low, fd)
        low = max(low, fd + 1)
    os.closerange(low, _FD_LIMIT)


_FD_LIMIT = 1 << 30  # above any descriptor (the kernel's nr_open caps at 2**30)


def describe(exc: BaseException) -> str:
    """One line for an exception raised in a child: `mount: Permission denied (/x/proc)`."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc) or type(exc).__name__


# Signals are handled through `_signal`, the built-in module that `signal` wraps: the
# same functions and numbers, without the conversions to enum members, whose import
# (`enum`) would cost ~4 ms of CPU on every `superc` start.

# Signals the caller may have handlers or a wakeup descriptor for (the spawner does).
_RESET = (_signal.SIGCHLD, _signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT,
          _signal.SIGUSR1, _signal.SIGUSR2, _signal.SIGWINCH, _signal.SIGPIPE)


def reset_signals() -> None:
    """Default dispositions, as a freshly exec'd program would have them.

    Python ignores SIGPIPE and SIGXFSZ at start-up, and ignored signals survive
    execve: without this the container's `yes | head` would never end.
    """
    _signal.set_wakeup_fd(-1)
    for sig in (*_RESET, _signal.SIGXFSZ):
        _signal.signal(sig, _signal.SIG_DFL)
    _signal.pthread_sigmask(_signal.SIG_SETMASK, ())
