"""The learner's trace: `superc --explain` prints every primitive step as it happens.

Two places call `step()`: the syscall boundary (`linux.py`, one line per syscall
with its arguments) and the cgroup drivers (one line per file written with its
value). Nothing else prints trace lines, so the trace is complete without being
sprinkled through the code. Off by default; when off, `step()` costs one test.

The stream is a file descriptor, not a Python file object: the container's init
runs in a forked child that may have swapped its standard streams, and a raw
`os.write` to a saved descriptor stays correct across fork and dup2.
"""

import os

_fd: int | None = None
_prefix = b"superc: "


def enable(fd: int = 2, prefix: str = "superc") -> None:
    """Start tracing to file descriptor `fd` (a private duplicate is kept)."""
    global _fd, _prefix
    disable()
    _fd = os.dup(fd)
    os.set_inheritable(_fd, False)
    _prefix = f"{prefix}: ".encode()


def disable() -> None:
    global _fd
    if _fd is not None:
        try:
            os.close(_fd)
        except OSError:
            pass
    _fd = None


def enabled() -> bool:
    return _fd is not None


def step(text: str) -> None:
    """Print one step of the trace, e.g. `unshare(CLONE_NEWPID|CLONE_NEWNS)`."""
    if _fd is None:
        return
    try:
        os.write(_fd, _prefix + text.encode(errors="replace") + b"\n")
    except OSError:
        pass


def fileno() -> int | None:
    """The trace's descriptor, so a forked helper that closes what it inherited keeps it."""
    return _fd


def set_prefix(prefix: str) -> None:
    """Relabel the trace lines of this process (a forked child: `superc init`)."""
    global _prefix
    _prefix = f"{prefix}: ".encode()
