"""Doing work inside another network namespace without fork().

The agent is multi-threaded, so it may not fork (DESIGN.md) - and pyroute2's own
`netns=` support forks a helper process. But a network namespace, unlike a mount
or user namespace, belongs to a *thread*: setns(fd, CLONE_NEWNET) from one thread
moves only that thread. So `run_in(path, fn)` starts a short-lived thread, moves it
into the namespace, runs `fn` there and lets the thread die (taking its namespace
membership with it). What `fn` creates keeps its namespace: a netlink socket
opened there talks to that namespace for the rest of its life, a /proc/sys/net
file opened there shows that namespace's settings, and a child process started
there (subprocess execs at once, which is fork-safe) runs there.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

from supernetes.runtime import linux

T = TypeVar("T")

NETLINK_ROUTE = 0


def run_in(path: str | None, fn: Callable[..., T], *args, **kwargs) -> T:
    """Run `fn(*args, **kwargs)` in the network namespace at `path` (None: here)."""
    if path is None:
        return fn(*args, **kwargs)
    result: dict[str, object] = {}

    def enter_and_run() -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                linux.setns(fd, linux.CLONE_NEWNET, path)
            finally:
                os.close(fd)
            result["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread below
            result["error"] = exc

    thread = threading.Thread(target=enter_and_run, name=f"netns:{path}")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]  # type: ignore[return-value]


def enter(path: str) -> None:
    """Move the calling thread into the network namespace at `path`, for good.

    For a thread of its own that lives there (the Ingress proxy's event loop):
    every socket it opens afterwards, listening or connecting, is in that
    namespace. Never call it on a thread that serves anything else."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        linux.setns(fd, linux.CLONE_NEWNET, path)
    finally:
        os.close(fd)


def route_socket(path: str | None = None):
    """A pyroute2 IPRoute talking to the namespace at `path` (None: the current one)."""
    from pyroute2 import IPRoute

    if path is None:
        return IPRoute()
    sock = run_in(path, socket.socket, socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)
    return IPRoute(fileno=sock.detach())


def write_sysctl(path: str | None, key: str, value: str) -> None:
    """Set a sysctl (`net.ipv4.ip_forward`) as seen from the namespace at `path`."""

    def write() -> None:
        with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
            f.write(value)

    run_in(path, write)
