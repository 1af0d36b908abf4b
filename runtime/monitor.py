"""The per-container monitor: the init's parent, which records how the container ended.

Like conmon or containerd-shim, a tiny process stays with every container for its
whole life, so that its exit status is never lost: not when `superc create`
returns, not when the agent that asked for it restarts. It

- starts a new session (the container is detached from the caller's terminal),
- becomes a child subreaper, so the init is re-parented to it when the nsexec
  child that forked the init exits,
- holds `monitor.lock` while it lives (`delete` waits on that lock),
- waits for the init, then writes `exit.json`: exit code (128+signal when killed,
  so an OOM kill reads 137), the signal, and whether the kernel OOM-killed anything
  in the container's cgroup,
- and exits with the same code, which `superc run` (its parent) passes on.

It is a forked copy of the caller, not a new program: no exec, no imports, and it
shares the caller's memory pages until it writes to them.
"""

from __future__ import annotations

import fcntl
import os
import signal

from . import explain, linux, nsexec, security
from .container import now_rfc3339
from .launch import Launch, close_fds_except
from .state import MONITOR_LOCK

# Signals the caller may have handlers or a wakeup descriptor for (the spawner does).
_RESET = (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
          signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGPIPE)


def reset_signals() -> None:
    """Default dispositions, as a freshly exec'd program would have them.

    Python ignores SIGPIPE and SIGXFSZ at start-up, and ignored signals survive
    execve: without this the container's `yes | head` would never end.
    """
    signal.set_wakeup_fd(-1)
    for sig in (*_RESET, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def run(launch: Launch) -> None:
    """The monitor's whole life; never returns."""
    code = 255
    try:
        explain.set_prefix("superc monitor")
        reset_signals()
        linux.setsid()
        security.set_child_subreaper()
        lock = os.open(launch.state_dir.file(MONITOR_LOCK),
                       os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        report_r, report_w = os.pipe2(os.O_CLOEXEC)
        launch.report_fd = report_w
        close_fds_except(launch.keep_fds() | {lock, report_r, report_w})
        me = os.getpid()
        child = linux.fork("nsexec child")
        if child == 0:
            os.close(report_r)
            nsexec.run(launch, me)
        # From here on the monitor needs nothing of the caller's: no channel, no stdio
        # (a caller reading our stdout would otherwise wait for us), no trace.
        os.close(report_w)
        launch.channel.close()
        _detach_stdio()
        explain.disable()
        init_pid = _read_pid(report_r)
        os.waitpid(child, 0)
        if init_pid is None:
            code = 1  # setup failed; the caller heard why over the channel
            return
        status = _wait_for(init_pid)
        code = _record(launch, status)
    except BaseException:  # a forked child reports and exits, never unwinds
        pass
    finally:
        os._exit(code)


def exit_code(status: int) -> tuple[int, int | None]:
    """(shell-style exit code, signal) from a wait status: killed by 9 -> (137, 9)."""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return 128 - code, -code
    return code, None


def _wait_for(init_pid: int) -> int:
    # As a subreaper we also inherit the container's orphans; reap them on the way.
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255 << 8
        if pid == init_pid:
            return status


def _record(launch: Launch, status: int) -> int:
    code, sig = exit_code(status)
    try:
        oom = launch.manager.stats().oom_kills > 0
    except Exception:
        oom = False
    try:
        launch.state_dir.write_exit({"exitCode": code, "signal": sig, "oomKilled": oom,
                                     "finished": now_rfc3339()})
    except OSError:
        pass  # the container was deleted under us
    return code


def _read_pid(fd: int) -> int | None:
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 32)
        if not chunk:
            return None
        data += chunk
    return int(data)


def _detach_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
