"""Entering the container's namespaces: which process joins or creates which, and in what order.

Named after runc's C `nsexec`, which does this before any Go code runs. Two
kernel rules shape it:

- setns()/unshare() of CLONE_NEWPID (and CLONE_NEWTIME) change only the namespace
  of the caller's *children*: the container's PID 1 must be forked after them.
- A new user namespace must own every other new namespace (or the container's
  root could not, say, mount /proc), so it is made first, by the process that
  then makes the rest; and its ID maps can only be written from the parent
  namespace (the caller does it, see create.py).

Hence two paths from the monitor (which itself always stays in the host's
namespaces, to write the state directory):

    no new user namespace (the common case, one fork fewer):
        monitor: PID (and time) namespace for its children  -> fork init
        init:    `enter(..., CHILD_ONLY excluded)`: everything else, itself
    a new user namespace:
        monitor -> fork nsexec child (monitor.py): `enter(...)`: all of it, user
                   namespace first -> fork init, report its PID, exit (the init is
                   re-parented to the monitor, a child subreaper)

`enter` joins the container's cgroup first (before any cgroup namespace exists,
so that its cgroup becomes the namespace's root; and while we still have the
host's privileges to write to cgroupfs), opens every namespace path before
joining any (after joining a mount namespace they may not resolve), joins them
with the user namespace first (it grants the capabilities for the rest), and then
creates the new ones in one unshare().
"""

from __future__ import annotations

import os

from . import linux
from .config import Config
from .launch import Launch

CHILD_ONLY = linux.CLONE_NEWPID | linux.CLONE_NEWTIME


def needs_nsexec_child(config: Config) -> bool:
    return any(ns.kind == linux.CLONE_NEWUSER and ns.path is None for ns in config.namespaces)


def enter_for_children(config: Config) -> None:
    """In the monitor: the PID and time namespaces its next child will be born in."""
    join_namespaces([(ns.kind, ns.path) for ns in config.namespaces
                     if ns.path and ns.kind & CHILD_ONLY])
    new = _new_kinds(config) & CHILD_ONLY
    if new:
        linux.unshare(new)


def enter(launch: Launch, kinds: int) -> None:
    """Join the cgroup, then join and create the namespaces among `kinds`.

    Where joining from inside is costly (cgroup v2), the monitor moves the init
    into the cgroup meanwhile (see monitor.py); then we only wait for that before
    a cgroup namespace is made, which must have the container's cgroup as its root.
    """
    config = launch.config
    if launch.cgroup_ready_fd < 0:
        launch.manager.join()
    join_namespaces([(ns.kind, ns.path) for ns in config.namespaces
                     if ns.path and ns.kind & kinds])
    new = _new_kinds(config) & kinds
    if new & linux.CLONE_NEWUSER:
        linux.unshare(linux.CLONE_NEWUSER)
        launch.channel.send(userns=os.getpid())
        reply = launch.channel.recv()
        if not reply or not reply.get("ok"):
            os._exit(1)  # the caller failed to map our IDs and says why itself
        # Until now we were the host's root, which the maps need not contain: become
        # the namespace's root, or files we create would be owned by the overflow ID.
        linux.setgroups([])
        linux.setresgid(0)
        linux.setresuid(0)
        new &= ~linux.CLONE_NEWUSER
    if new & linux.CLONE_NEWCGROUP and launch.cgroup_ready_fd >= 0:
        if new & ~linux.CLONE_NEWCGROUP:
            linux.unshare(new & ~linux.CLONE_NEWCGROUP)
        wait_for_cgroup(launch)
        new = linux.CLONE_NEWCGROUP
    if new:
        linux.unshare(new)


def wait_for_cgroup(launch: Launch) -> None:
    """Block until the monitor has moved us into the container's cgroup (once)."""
    if launch.cgroup_ready_fd < 0:
        return
    ok = os.read(launch.cgroup_ready_fd, 1)
    os.close(launch.cgroup_ready_fd)
    launch.cgroup_ready_fd = -1
    if ok != b"1":
        os._exit(1)  # the monitor could not; it tells the caller


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


def _new_kinds(config: Config) -> int:
    new = 0
    for ns in config.namespaces:
        if ns.path is None:
            new |= ns.kind
    return new
