"""`exec`, caller side: start one more process inside a running container.

    caller --fork--> waiter (setns into the container's namespaces) --fork--> process
    execute.py       setns_init.py                                          setns_init.py

The caller opens the init's /proc/<pid>/ns/* *before* checking that the PID still
belongs to the init, so the namespaces joined are the container's even if the
init dies meanwhile. Only namespaces that differ from the caller's are joined
(setns into one's own user namespace fails). The waiter stays in the host's PID
namespace and cgroup; setns(CLONE_NEWPID) applies to its child, which becomes a
process of the container; the caller moves that child into the container's cgroup
(as runc does) before letting it go on. The waiter waits for it and exits with its
status (128+signal when killed), which a foreground `superc exec` passes on.

The process's defaults (env, user, capabilities, rlimits, no_new_privs) are those
of config.json's process, saved in the state at create; the caller overrides what
it asks for.
"""

from __future__ import annotations

import os

from . import cgroup_link, config, linux, setns_init, spec, stdio
from .cgroups.base import CgroupError
from .container import Container, process_start_time
from .errors import ConfigError, ExecError
from .record import Record
from .sync import channel_pair

# Join order: the user namespace first (it grants capabilities for the rest), the mount
# namespace last (it changes our root and cwd).
_ORDER = ("user", "ipc", "uts", "net", "pid", "cgroup", "time", "mnt")
_KINDS = {name: kind for kind, name in config.NS_PROC_NAMES.items()}


class ExecHandle(Record):
    pid: int  # the process, as the host sees it
    waiter: int  # the waiter's PID: its exit status is the process's


def process_for_exec(container: Container, args: list[str] | None = None, *,
                     env: list[str] | None = None, cwd: str | None = None,
                     user: str | None = None, tty: bool | None = None,
                     process_json: dict | None = None) -> config.ProcessConfig:
    """The process to exec: config.json's process with the caller's overrides."""
    base = dict(process_json if process_json is not None else container.data.get("process") or {})
    if process_json is None:
        if args:
            base["args"] = list(args)
        if env:
            base["env"] = list(base.get("env") or []) + list(env)
        if cwd:
            base["cwd"] = cwd
        if user:
            uid, _, gid = user.partition(":")
            if not uid.isdigit() or (gid and not gid.isdigit()):
                raise ConfigError(f"--user {user!r}: expected UID[:GID] as numbers")
            base["user"] = {**(base.get("user") or {}), "uid": int(uid)}
            if gid:
                base["user"]["gid"] = int(gid)
        if tty is not None:
            base["terminal"] = tty
    process = config.process_from_spec(spec.parse_process(base, "process"))
    if not process.args:
        raise ConfigError("exec: no command given")
    return process


def exec_process(container: Container, process: config.ProcessConfig, *,
                 stdio_spec: stdio.Stdio | None = None,
                 console: int | str | None = None) -> ExecHandle:
    """Start `process` in the container; returns once it is about to exec."""
    container.require("exec")
    if process.terminal and console is None:
        raise ConfigError("exec with a terminal needs a console socket (or the foreground CLI)")
    manager = cgroup_link.load(container.data)
    joins = _open_namespaces(container)
    fds, opened = stdio.open_stdio(stdio_spec or stdio.Stdio())
    console_fd = console if isinstance(console, int) else None
    if isinstance(console, str):
        console_fd = stdio.connect_console_socket(console)
        opened.append(console_fd)
    ours, theirs = channel_pair()
    try:
        waiter = linux.fork("exec waiter")
        if waiter == 0:
            ours.close()
            setns_init.run_waiter(joins, process, theirs, fds, console_fd)
    finally:
        theirs.close()
        for fd in opened:
            os.close(fd)
        for _, _, fd in joins:
            os.close(fd)
    try:
        pid = _serve(ours, container, manager)
    except BaseException:
        try:
            os.kill(waiter, 9)
            os.waitpid(waiter, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        raise
    finally:
        ours.close()
    return ExecHandle(pid=pid, waiter=waiter)


def wait(handle: ExecHandle) -> int:
    """Wait for an exec'd process (the caller must be the waiter's parent): its exit code."""
    _, status = os.waitpid(handle.waiter, 0)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _open_namespaces(container: Container) -> list[tuple[int, str, int]]:
    pid = container.pid
    joins = []
    try:
        for name in _ORDER:
            theirs = f"/proc/{pid}/ns/{name}"
            try:
                if os.stat(theirs).st_ino == os.stat(f"/proc/self/ns/{name}").st_ino:
                    continue
            except FileNotFoundError:
                continue  # this kernel has no such namespace type
            joins.append((_KINDS[name], theirs, os.open(theirs, os.O_RDONLY | os.O_CLOEXEC)))
        if process_start_time(pid) != container.data.get("pid_start"):
            raise ExecError(f"container {container.id!r} is not running")
    except BaseException:
        for _, _, fd in joins:
            os.close(fd)
        raise
    return joins


def _serve(channel, container: Container, manager) -> int:
    pid = 0
    while True:
        message = channel.recv()
        if message is None:
            raise ExecError(f"exec in {container.id!r}: the process exited during setup")
        if "error" in message:
            raise ExecError(f"exec in {container.id!r}: {message['error']}")
        if "pid" in message:
            pid = message["pid"]
            try:
                if manager is not None:
                    manager.add(pid)
            except CgroupError as exc:
                channel.send(ok=False)
                raise ExecError(f"exec in {container.id!r}: joining its cgroup: {exc}") from exc
            channel.send(ok=True)
        elif message.get("ready"):
            return pid
