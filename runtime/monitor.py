"""The per-container monitor: the init's parent, which records how the container ended.

Like conmon or containerd-shim, a tiny process stays with every container for its
whole life, so that its exit status is never lost: not when `superc create`
returns, not when the agent that asked for it restarts. It

- starts a new session (the container is detached from the caller's terminal),
- forks the init (or, for a new user namespace, the nsexec child that forks it:
  as a child subreaper the monitor adopts the init when that child exits),
- holds `monitor.lock` while it lives (`delete` waits on that lock),
- with a log (`Stdio(log=...)`), copies the init's stdout and stderr into it in
  the CRI format until the container has exited (logcopy.py, conmon's job),
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

from . import explain, init, linux, nsexec, security
from .container import now_rfc3339
from .launch import Launch, close_fds_except, describe, reset_signals
from .state import MONITOR_LOCK


def run(launch: Launch) -> None:
    """The monitor's whole life; never returns."""
    code = 255
    try:
        init_pid = _start_init(launch)
        if init_pid is None:
            code = 1  # setup failed; the caller heard why over the channel
            return
        if launch.log:
            status = _copy_log_until_exit(launch, init_pid)
        else:
            status = _wait_for(init_pid)
        code = _record(launch, status)
    except BaseException:  # a forked child reports and exits, never unwinds
        pass
    finally:
        os._exit(code)


def _start_init(launch: Launch) -> int | None:
    """Detach, fork the init (through the nsexec child if need be); the init's PID."""
    explain.set_prefix("superc monitor")
    try:
        reset_signals()
        linux.setsid()
        security.set_child_subreaper()
        lock = os.open(launch.state_dir.file(MONITOR_LOCK),
                       os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        if nsexec.needs_nsexec_child(launch.config):
            return _via_nsexec_child(launch, lock)
        close_fds_except(launch.keep_fds() | {lock})
        nsexec.enter_for_children(launch.config)
        if launch.manager.cheap_join:
            # v1: the init moves itself into its cgroup, cheaply (see
            # cgroups/v1/manager.py), first thing.
            init_pid = linux.fork("init, PID 1 of the container")
            if init_pid == 0:
                init.run(launch)
            launch.channel.send(pid=init_pid)
        else:
            init_pid = _fork_init_and_move_it(launch)
    except BaseException as exc:  # tell the caller, who undoes the rest
        launch.channel.send(error=f"starting the container: {describe(exc)}")
        return None
    _let_go(launch)
    return init_pid


def _fork_init_and_move_it(launch: Launch) -> int:
    """Fork the init and move it into its cgroup from out here, while it works.

    Moving another process into a cgroup (cgroup.procs) makes the kernel wait for
    an RCU grace period (several milliseconds, runc pays it too). The init builds
    its namespaces and mounts meanwhile, and waits for our "1" only before it
    could need the cgroup.
    """
    ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
    launch.cgroup_ready_fd = ready_r
    init_pid = linux.fork("init, PID 1 of the container")
    if init_pid == 0:
        os.close(ready_w)
        init.run(launch)
    os.close(ready_r)
    launch.channel.send(pid=init_pid)
    try:
        launch.manager.add(init_pid)
    except BaseException:
        os.write(ready_w, b"0")
        raise
    os.write(ready_w, b"1")
    os.close(ready_w)
    return init_pid


def _via_nsexec_child(launch: Launch, lock: int) -> int | None:
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    launch.report_fd = report_w
    close_fds_except(launch.keep_fds() | {lock, report_r, report_w})
    me = os.getpid()
    child = linux.fork("nsexec child")
    if child == 0:
        os.close(report_r)
        _nsexec_child(launch, me)
    os.close(report_w)
    _let_go(launch)
    init_pid = _read_pid(report_r)
    os.waitpid(child, 0)
    return init_pid


def _nsexec_child(launch: Launch, monitor_pid: int) -> None:
    """The nsexec child's whole life (new user namespace only); never returns."""
    code = 1
    channel = launch.channel
    try:
        explain.set_prefix("superc nsexec")
        # If the monitor dies before the init exists (create was aborted), so do we.
        security.set_pdeathsig(9)
        if os.getppid() != monitor_pid:
            return
        nsexec.enter(launch, ~0)
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


def _let_go(launch: Launch) -> None:
    """From here on the monitor needs nothing of the caller's: no channel, no stdio (a
    caller reading our stdout would otherwise wait for us), no trace."""
    if launch.log:
        # Only the init writes into the log pipes: with our write ends open, the
        # read ends would never see the end of the streams.
        for fd in launch.stdio_fds[1:]:
            os.close(fd)
    launch.channel.close()
    _detach_stdio()
    explain.disable()


def _copy_log_until_exit(launch: Launch, init_pid: int) -> int:
    from . import logcopy

    path, max_size, max_files = launch.log
    try:
        log = logcopy.CriLog(path, max_size, max_files)
    except OSError:
        return _wait_for(init_pid)  # no log, but the exit status is never lost
    stdout_r, stderr_r = launch.log_fds
    return logcopy.copy_until_exit(log, stdout_r, stderr_r, init_pid)


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
        oom = launch.manager.oom_kills() > 0
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
