"""`delete`: remove a container and everything it had; poststop hooks last.

A stopped (or merely created) container is deleted as is; a running or paused one
only with `force`, which kills every process in its cgroup first. Then:

1. wait for the monitor to record the exit and go (it holds `monitor.lock` while
   it lives), so no process of the container outlives `delete`;
2. remove the cgroup (the driver waits briefly for dying processes to leave);
3. remove the state directory.

The mounts need no cleanup: they live in the container's mount namespace, which
the kernel tears down with its last process.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time

from . import cgroup_link, hooks
from .cgroups.base import CgroupError
from .container import STOPPED, Container
from .errors import ContainerError
from .start import saved_hooks
from .state import MONITOR_LOCK

MONITOR_GRACE = 10.0  # seconds to wait for the monitor after the init was killed


def delete(container: Container, force: bool = False) -> list[str]:
    """Delete the container; returns poststop hook warnings."""
    with container.dir.lock():
        status = container.require("delete -f" if force else "delete")
        manager = cgroup_link.load(container.data)
        # A stopped container may still have processes: those it left behind when it
        # shares the host's PID namespace. They go with it, as in runc. (In a PID
        # namespace of its own, the kernel killed them all before its init's exit
        # could be reaped.)
        if status != STOPPED or force or (not container.data.get("own_pid_namespace")
                                          and manager is not None and manager.pids()):
            _kill_all(container, manager)
        _wait_for_monitor(container)
        if manager is not None:
            try:
                manager.destroy()
            except CgroupError as exc:
                raise ContainerError(f"delete {container.id!r}: {exc}") from exc
        poststop = saved_hooks(container, "poststop")
        state = container.oci_state() if poststop else {}
        state["status"] = STOPPED
        container.dir.remove()
    return hooks.run_warn("poststop", poststop, state) if poststop else []


def _kill_all(container: Container, manager: object) -> None:
    if manager is not None:
        try:
            manager.kill(9)
            # A frozen process cannot act on its SIGKILL: a paused container must be
            # thawed to die (the driver's kill leaves a paused cgroup as it found it).
            if manager.frozen():
                manager.thaw()
        except CgroupError:
            pass  # fall back to the init alone
    if container.init_alive():
        try:
            os.kill(container.pid, 9)
        except ProcessLookupError:
            pass


def _wait_for_monitor(container: Container) -> None:
    path = container.dir.file(MONITOR_LOCK)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # no monitor was ever started (create failed early)
    try:
        deadline = time.monotonic() + MONITOR_GRACE
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno != errno.EWOULDBLOCK:
                    raise
            if time.monotonic() > deadline:
                raise ContainerError(f"delete {container.id!r}: its monitor did not exit "
                                     f"within {MONITOR_GRACE:.0f}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    finally:
        os.close(fd)
