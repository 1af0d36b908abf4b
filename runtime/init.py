"""The container's init, child side: from fresh namespaces to the user's program.

PID 1 of the container runs this, forked by the monitor into its PID namespace;
it enters the other namespaces itself (nsexec.py), unless the nsexec child did
that for it (a new user namespace). It is runc's `standard_init`: it builds the
filesystem, becomes the configured user with the configured capabilities,
reports "ready" to the caller, and then *waits*: `superc create` is done at that
point. `superc start` writes one byte into the exec FIFO; the init reads it and
execs the program.

    stdio, not dumpable, open the exec FIFO (a host path: before pivot_root)
    rootfs.prepare: propagation, mounts, /dev             [createRuntime, prestart:
    terminal: a pty from the container's own devpts        run by the caller here]
    createContainer hooks, sysctls, oom_score_adj
    rootfs.pivot, hostname, rootfs.finalize (readonly + masked paths, ro root)
    cwd, rlimits, bounding set, user, capabilities, no_new_privs
    find the program; "ready"; block on the FIFO; startContainer hooks; execve

After pivot_root no Python module can be imported (the venv is not in the
container), so everything this needs is imported up front.
"""

from __future__ import annotations

import os

from . import explain, hooks, linux, nsexec, rootfs, security, stdio
from .config import Config, ProcessConfig
from .launch import Launch, describe, reset_signals

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run(launch: Launch) -> None:
    """The init's whole life; never returns."""
    channel = launch.channel
    config = launch.config
    stage = "starting the init"
    try:
        explain.set_prefix("superc init")
        if launch.report_fd >= 0:
            os.close(launch.report_fd)  # forked by the nsexec child: all entered already
        else:
            stage = "joining namespaces"
            nsexec.enter(launch, ~nsexec.CHILD_ONLY)
        reset_signals()
        security.set_dumpable(False)
        stdio.install_stdio(launch.stdio_fds)
        os.umask(0)  # device nodes and mount points get exactly the modes we ask for
        fifo = os.open(launch.fifo_path, os.O_RDWR | os.O_CLOEXEC)

        stage = "preparing the rootfs"
        userns = any(ns.kind == linux.CLONE_NEWUSER for ns in config.namespaces)
        rootfs.prepare(config, launch.manager.paths(), userns)
        slave = None
        if config.process.terminal:
            stage = "allocating the terminal"
            slave = _console(config, launch.console_fd)

        if config.hooks.create_runtime or config.hooks.prestart:
            stage = "joining the cgroup"
            nsexec.wait_for_cgroup(launch)  # hooks see the container in its cgroup
            channel.send(hooks=True)
            reply = channel.recv()
            if not reply or not reply.get("ok"):
                os._exit(1)  # the caller reports the failed hook
        stage = "running createContainer hooks"
        hooks.run("createContainer", config.hooks.create_container, _state(config))

        stage = "writing sysctls"
        for key, value in config.sysctl.items():
            linux.write_file("/proc/sys/" + key.replace(".", "/"), value)
        if config.process.oom_score_adj is not None:
            linux.write_file("/proc/self/oom_score_adj", str(config.process.oom_score_adj))

        stage = "entering the rootfs"
        rootfs.pivot(config.rootfs)
        if config.hostname:
            linux.sethostname(config.hostname)
        if config.domainname:
            linux.setdomainname(config.domainname)
        rootfs.finalize(config)
        if slave is not None:
            stdio.make_controlling(slave)

        stage = "setting up the process"
        env = process_env(config.process)
        path = prepare_process(config.process, env)
        stage = "joining the cgroup"
        nsexec.wait_for_cgroup(launch)  # "ready" means every limit applies
        channel.send(ready=True)
        channel.close()
    except BaseException as exc:  # a forked child reports and exits, never unwinds
        try:
            channel.send(error=f"{stage}: {describe(exc)}")
        finally:
            os._exit(1)

    # Created. Wait for `superc start` to write into the FIFO.
    try:
        os.read(fifo, 1)
        os.close(fifo)
        hooks.run("startContainer", config.hooks.start_container, _state(config, "created"))
        linux.execve(path, config.process.args, env)
    except BaseException as exc:  # a forked child reports and exits, never unwinds
        os.write(2, f"superc: starting {config.process.args[0]}: {describe(exc)}\n".encode())
    os._exit(127)


def prepare_process(process: ProcessConfig, env: dict[str, str]) -> str:
    """cwd, credentials, capabilities: the steps the init and `exec` share.

    Returns the program's path, found before anything irrevocable so that a typo in
    args[0] fails `create`, not `start`.
    """
    linux.chdir(process.cwd)
    path = find_executable(process.args[0], env.get("PATH", DEFAULT_PATH))
    security.apply(process)
    os.umask(process.umask)
    return path


def process_env(process: ProcessConfig) -> dict[str, str]:
    env = {}
    for item in process.env:
        key, _, value = item.partition("=")
        env[key] = value
    if "HOME" not in env:
        env["HOME"] = _home_of(process.uid)
    return env


def find_executable(name: str, path: str) -> str:
    """execvp's search, done up front so the error is ours and names the program."""
    if "/" in name:
        candidates = [name]
    else:
        candidates = [os.path.join(d or ".", name) for d in path.split(":")]
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    where = "" if "/" in name else " in $PATH"
    raise FileNotFoundError(2, f'exec: "{name}": executable file not found{where}')


def _home_of(uid: int) -> str:
    """HOME from the container's /etc/passwd, "/" if the user is not listed (as runc)."""
    try:
        with open("/etc/passwd") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) > 5 and fields[2] == str(uid):
                    return fields[5] or "/"
    except OSError:
        pass
    return "/"


def _console(config: Config, console_fd: int | None) -> int:
    """A pty from the container's devpts; the master goes out, the slave is /dev/console."""
    ptmx = rootfs.secure_join(config.rootfs, "/dev/pts/ptmx")
    master, slave, number = stdio.open_pty(ptmx, config.process.console_size)
    console = rootfs.secure_join(config.rootfs, "/dev/console")
    if not os.path.exists(console):
        os.close(os.open(console, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
    linux.mount(rootfs.secure_join(config.rootfs, f"/dev/pts/{number}"), console, "bind",
                linux.MS_BIND)
    if console_fd is not None:
        stdio.send_master(console_fd, master, f"/dev/pts/{number}")
        os.close(console_fd)
    os.close(master)
    return slave


def _state(config: Config, status: str = "creating") -> dict:
    return {"ociVersion": config.oci_version, "id": config.id, "status": status,
            "pid": os.getpid(), "bundle": config.bundle, "annotations": config.annotations}
