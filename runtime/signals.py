"""`kill`: signal names and numbers, and delivering a signal to a container.

Names are accepted as runc accepts them: `KILL`, `SIGKILL`, `kill`, `9`, and
real-time signals as `RTMIN+3`. Delivery to the init goes through a pidfd opened
*before* the start-time check, so a PID recycled between the check and the
signal can never be hit. `--all` signals every process in the container's cgroup
(frozen meanwhile, so nothing forks past us), which matters for containers that
share the host's PID namespace.
"""

from __future__ import annotations

import os
import signal

from . import cgroup_link
from .cgroups.base import CgroupError
from .container import Container, process_start_time
from .errors import ContainerError, InvalidStateError, SignalError


def parse_signal(value: str | int) -> int:
    """A signal number from a name or number; SignalError if there is no such signal."""
    text = str(value).strip().upper()
    if text.isdigit():
        number = int(text)
    else:
        name = text if text.startswith("SIG") else "SIG" + text
        if name.startswith(("SIGRTMIN+", "SIGRTMAX-")) and name[9:].isdigit():
            base, offset = name[:8], int(name[9:])
            number = signal.SIGRTMIN + offset if base == "SIGRTMIN" else signal.SIGRTMAX - offset
        else:
            try:
                number = signal.Signals[name].value
            except KeyError:
                raise SignalError(f"invalid signal {value!r}") from None
    if not 1 <= number <= signal.SIGRTMAX:
        raise SignalError(f"invalid signal {value!r}")
    return number


def kill(container: Container, sig: int, all_processes: bool = False) -> None:
    try:
        container.require("kill")
    except InvalidStateError as exc:
        raise ContainerError(f"cannot kill container {container.id!r}: it is not running") \
            from exc
    if all_processes:
        manager = cgroup_link.load(container.data)
        if manager is not None:
            try:
                manager.kill(sig)
            except CgroupError as exc:
                raise ContainerError(f"kill --all {container.id!r}: {exc}") from exc
            return
    signal_init(container, sig)


def signal_init(container: Container, sig: int) -> None:
    pid = container.pid
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError as exc:
        raise ContainerError(f"container {container.id!r} is not running") from exc
    try:
        if process_start_time(pid) != container.data.get("pid_start"):
            raise ContainerError(f"container {container.id!r} is not running")
        signal.pidfd_send_signal(pidfd, sig)
    except ProcessLookupError as exc:
        raise ContainerError(f"container {container.id!r} is not running") from exc
    finally:
        os.close(pidfd)
