"""`exec`, child side: the waiter joins the container, its child becomes the process.

runc's `setns_init`: no filesystem to build, only namespaces to join and a
process to set up exactly as the init's (user, capabilities, rlimits,
no_new_privs, cwd, environment). The waiter:

    close what it inherited, join the namespaces (descriptors opened by the caller),
    fork the process, report its PID, wait for it, exit with its status.

The process: stdio or a pty from the container's devpts (after setns into the
mount namespace, "/" *is* the container's root), wait until the caller has moved
it into the container's cgroup, set itself up, say "ready", execve.
"""

from __future__ import annotations

import os

from . import explain, linux, stdio
from .config import ProcessConfig
from .init import prepare_process, process_env
from .launch import close_fds_except, describe, reset_signals
from .monitor import exit_code
from .sync import Channel


def run_waiter(joins: list[tuple[int, str, int]], process: ProcessConfig, channel: Channel,
               stdio_fds: list, console_fd: int | None) -> None:
    """The waiter's whole life; never returns."""
    code = 255
    try:
        explain.set_prefix("superc exec")
        reset_signals()
        keep = {0, 1, 2, *channel.fds(), *(fd for _, _, fd in joins)}
        keep.update(fd for fd in stdio_fds if fd is not None)
        if console_fd is not None:
            keep.add(console_fd)
        if explain.fileno() is not None:
            keep.add(explain.fileno())
        close_fds_except(keep)
        for kind, path, fd in joins:
            linux.setns(fd, kind, path)
            os.close(fd)
        pid = linux.fork("process in the container")
        if pid == 0:
            _run_process(process, channel, stdio_fds, console_fd)
        channel.send(pid=pid)
        channel.close()
        if console_fd is not None:
            os.close(console_fd)
        explain.disable()
        _, status = os.waitpid(pid, 0)
        code = exit_code(status)[0]
    except BaseException as exc:  # a forked child reports and exits, never unwinds
        try:
            channel.send(error=f"joining the container: {describe(exc)}")
        except OSError:
            pass
    finally:
        os._exit(code)


def _run_process(process: ProcessConfig, channel: Channel, stdio_fds: list,
                 console_fd: int | None) -> None:
    stage = "setting up stdio"
    try:
        stdio.install_stdio(stdio_fds)
        if process.terminal:
            stage = "allocating the terminal"
            master, slave, number = stdio.open_pty("/dev/pts/ptmx", process.console_size)
            stdio.send_master(console_fd, master, f"/dev/pts/{number}")
            os.close(master)
            os.close(console_fd)
            stdio.make_controlling(slave)
        reply = channel.recv()  # the caller moves us into the container's cgroup first
        if not reply or not reply.get("ok"):
            os._exit(1)
        stage = "setting up the process"
        env = process_env(process)
        path = prepare_process(process, env)
        channel.send(ready=True)
        channel.close()
        linux.execve(path, process.args, env)
    except BaseException as exc:  # a forked child reports and exits, never unwinds
        try:
            channel.send(error=f"{stage}: {describe(exc)}")
        finally:
            os._exit(127)
    os._exit(127)
