"""The nsexec child: joins and creates the container's namespaces, then forks the init.

Named after runc's C `nsexec`, which does the same before any Go code runs. Why a
separate process between the monitor and the init:

- setns(CLONE_NEWPID) and unshare(CLONE_NEWPID) (and CLONE_NEWTIME) change only the
  namespace of the caller's *children*; the container's PID 1 must be forked after.
- A new user namespace must own the other new namespaces, so it is made first, by
  the process that then makes the rest; its ID maps can only be written from the
  parent namespace (the caller does it, see create.py).
- The monitor must stay in the host's namespaces to write the state directory.

Order: join the cgroup (before any cgroup namespace is made, so that the container's
cgroup becomes the namespace's root), open every namespace path first (after joining
a mount namespace the paths may no longer resolve), join them (user namespace
first: it grants the capabilities the other setns calls need), create the user
namespace, then the others in one unshare(), then fork the init and report its PID
(as seen from the host) to the caller and the monitor.
"""

from __future__ import annotations

import os

from . import explain, init, linux, security
from .launch import Launch, describe


def run(launch: Launch, monitor_pid: int) -> None:
    """The nsexec child's whole life; never returns."""
    code = 1
    channel = launch.channel
    try:
        explain.set_prefix("superc nsexec")
        config = launch.config
        # If the monitor dies before the init exists (create was aborted), so do we.
        security.set_pdeathsig(9)
        if os.getppid() != monitor_pid:
            return
        launch.manager.add(os.getpid())
        join_namespaces([(ns.kind, ns.path) for ns in config.namespaces if ns.path])
        new = 0
        for ns in config.namespaces:
            if ns.path is None:
                new |= ns.kind
        if new & linux.CLONE_NEWUSER:
            linux.unshare(linux.CLONE_NEWUSER)
            channel.send(userns=os.getpid())
            reply = channel.recv()
            if not reply or not reply.get("ok"):
                return  # the caller failed to map our IDs and says why itself
            # Until now we were the host's root, which the maps need not contain: become
            # the namespace's root, or files we create would be owned by the overflow ID.
            linux.setgroups([])
            linux.setresgid(0)
            linux.setresuid(0)
            new &= ~linux.CLONE_NEWUSER
        if new:
            linux.unshare(new)
        pid = linux.fork("init, PID 1 of the container")
        if pid == 0:
            init.run(launch)
        channel.send(pid=pid)
        os.write(launch.report_fd, f"{pid}\n".encode())
        code = 0
    except BaseException as exc:  # a forked child reports and exits, never unwinds
        try:
            channel.send(error=f"joining namespaces: {describe(exc)}")
        except OSError:
            pass
    finally:
        os._exit(code)


def join_namespaces(joins: list[tuple[int, str]]) -> None:
    """setns() into each (kind, path): all opened first, the user namespace joined first."""
    opened = []
    try:
        for kind, path in joins:
            opened.append((kind, path, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
        opened.sort(key=lambda item: item[0] != linux.CLONE_NEWUSER)
        for kind, path, fd in opened:
            linux.setns(fd, kind, path)
    finally:
        for _, _, fd in opened:
            os.close(fd)
