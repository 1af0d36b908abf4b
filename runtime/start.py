"""`start`: release a created container's init, then run the poststart hooks.

The init of a created container blocks reading the exec FIFO in its state
directory (init.py). `start` opens the FIFO for writing without blocking (ENXIO
means no reader: the init is gone), writes one byte and removes the FIFO: from
then on the status reads "running". This is runc's exec FIFO turned around (there
the init writes and `start` reads) so that the init needs no /proc to reopen it
after pivot_root.
"""

from __future__ import annotations

import errno
import os

from . import hooks, linux, spec
from .container import RUNNING, Container
from .errors import ContainerError
from .state import FIFO


def start(container: Container) -> list[str]:
    """Start a created container; returns poststart hook warnings (not errors)."""
    with container.dir.lock():
        container.require("start")
        fifo = container.dir.file(FIFO)
        try:
            fd = linux.open_fd(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                raise ContainerError(f"cannot start container {container.id!r}: its init "
                                     "has exited") from exc
            raise ContainerError(f"cannot start container {container.id!r}: "
                                 f"{exc.strerror}") from exc
        try:
            linux.write_fd(fd, b"0", "exec.fifo")  # the init, blocked reading it, goes on
        finally:
            os.close(fd)
        os.unlink(fifo)
    poststart = saved_hooks(container, "poststart")
    if not poststart:
        return []
    state = container.oci_state()
    state["status"] = RUNNING
    return hooks.run_warn("poststart", poststart, state)


def saved_hooks(container: Container, kind: str) -> list[spec.Hook]:
    """The hooks of `kind` that create saved in the state."""
    return [spec.Hook(path=h["path"], args=h.get("args") or [], env=h.get("env") or [],
                      timeout=h.get("timeout"))
            for h in (container.data.get("hooks") or {}).get(kind, [])]
