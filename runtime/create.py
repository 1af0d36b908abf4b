"""`create`, caller side: from a bundle to a container whose init waits for `start`.

Steps, each undone if a later one fails (nothing of a half-made container stays):

1. config.json -> Spec -> Config -> validate       (spec.py, config.py, validate.py)
2. the state directory, status "creating"           (state.py; an existing ID fails here)
3. the cgroup, with its limits                      (cgroups via cgroup_link.py)
4. the exec FIFO, the sync channel
5. fork the monitor, which forks the init (see launch.py and nsexec.py)
6. serve the children: write ID maps for a new user namespace, learn the init's
   PID, run createRuntime and prestart hooks when the init is ready for them
7. the init says "ready": write the full state, the --pid-file, done.

The caller must be single-threaded (no fork() from a threaded process): the
`superc` CLI is, and so is the spawner that the agent starts before its threads.
"""

from __future__ import annotations

import os

from . import cgroup_link, hooks, linux, monitor, spec, stdio, validate
from .cgroups.base import CgroupError
from .config import Config, from_spec
from .container import CREATED, CREATING, Container, now_rfc3339, process_start_time
from .errors import ConfigError, ContainerError, CreateError, HookError
from .launch import Launch
from .state import StateDir
from .sync import channel_pair


def load_config(bundle: str, container_id: str) -> Config:
    """Layers 1-3 of the configuration, with nothing created yet."""
    validate.check_id(container_id)
    config = from_spec(spec.load(bundle), bundle, container_id)
    validate.validate(config)
    return config


def create(root: str, container_id: str, bundle: str, *, cgroup_root: str | None = None,
           stdio_spec: stdio.Stdio | None = None, pid_file: str | None = None,
           console: str | int | None = None, config: Config | None = None) -> Container:
    """Create the container; its init then waits for `start`.

    `console` is where a terminal's pty master goes (runc's --console-socket): a
    unix socket path, or a connected socket descriptor. It is required when
    `process.terminal` is set. `config` skips loading the bundle again when the
    caller already did (`load_config`).
    """
    if config is None:
        config = load_config(bundle, container_id)
    if config.process.terminal and console is None:
        raise ConfigError("process.terminal is set: a terminal needs a console socket "
                          "(--console-socket) or a foreground `superc run`")
    sd = StateDir.create(root, container_id)
    builder = _Builder(config, sd)
    try:
        return builder.build(cgroup_root, stdio_spec or stdio.Stdio(), pid_file, console)
    except BaseException:
        builder.undo()
        raise


class _Builder:
    """The caller's half of create, and how to undo it."""

    def __init__(self, config: Config, sd: StateDir) -> None:
        self.config = config
        self.sd = sd
        self.manager = None
        self.monitor_pid = 0
        self.monitor_start = None
        self.init_pid = 0
        self.init_start = None
        self.data = {"id": config.id, "status": CREATING, "bundle": config.bundle,
                     "rootfs": config.rootfs, "created": now_rfc3339(),
                     "oci_version": config.oci_version, "annotations": config.annotations}

    def build(self, cgroup_root: str | None, stdio_spec: stdio.Stdio, pid_file: str | None,
              console: str | int | None) -> Container:
        config, sd = self.config, self.sd
        try:
            self.manager = cgroup_link.new_manager(config, cgroup_root)
            self.manager.create()
            # Saved right away: `delete -f` of a container stuck in "creating" (its
            # creator killed) finds the cgroup to remove.
            self.data["cgroup_paths"] = self.manager.paths()
            self.data["cgroup_parents"] = self.manager.parents()
            sd.write_state(self.data)
            self.manager.set(config.resources)
        except CgroupError as exc:
            raise CreateError(f"cgroup for {config.id!r}: {exc}") from exc

        try:
            fds, opened = stdio.open_stdio(stdio_spec)
        except OSError as exc:
            raise CreateError(f"container {config.id!r}: stdio: {exc.strerror} "
                              f"({exc.filename})") from exc
        log_fds: tuple = ()
        if stdio_spec.log:
            # The init writes into pipes the monitor reads (logcopy.py); we close our
            # copies of all four ends below, once the monitor has its own.
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            fds = [fds[0], out_w, err_w]
            log_fds = (out_r, err_r)
            opened += [out_r, out_w, err_r, err_w]
        console_fd = None
        if isinstance(console, str):
            try:
                console_fd = stdio.connect_console_socket(console)
            except OSError as exc:
                for fd in opened:
                    os.close(fd)
                raise CreateError(f"console socket {console}: {exc.strerror}") from exc
            opened.append(console_fd)
        elif isinstance(console, int):
            console_fd = console
        # The init needs the kernel's last capability after pivot_root, where the
        # container's /proc may hide it; read here, it is inherited (and, in the
        # spawner, read once).
        linux.cap_last_cap()
        ours, theirs = channel_pair()
        launch = Launch(config=config, manager=self.manager, state_dir=sd, channel=theirs,
                        stdio_fds=fds, console_fd=console_fd, fifo_path=sd.make_fifo(),
                        log=(stdio_spec.log, stdio_spec.log_max_size, stdio_spec.log_max_files)
                        if stdio_spec.log else None, log_fds=log_fds)
        try:
            self.monitor_pid = linux.fork("monitor")
            if self.monitor_pid == 0:
                ours.close()
                monitor.run(launch)
        finally:
            theirs.close()
            for fd in opened:
                os.close(fd)
        try:
            # Read while the children work, not after "ready": guards against PID reuse.
            self.monitor_start = process_start_time(self.monitor_pid)
            self._serve(ours)
        finally:
            ours.close()

        own_pidns = any(ns.kind == linux.CLONE_NEWPID and ns.path is None
                        for ns in config.namespaces)
        self.data.update(status=CREATED, pid=self.init_pid, own_pid_namespace=own_pidns,
                         pid_start=self.init_start, monitor_pid=self.monitor_pid,
                         monitor_start=self.monitor_start,
                         hooks=_hooks_json(config), process=config.spec_process)
        sd.write_state(self.data)
        if pid_file:
            _write_pid_file(pid_file, self.init_pid)
        return Container(sd, self.data)

    def _serve(self, channel) -> None:
        """Answer the children until the init is ready (or something failed).

        The {"pid"} (from the init's parent) and the init's {"ready"} may arrive in
        either order: the init can finish its setup before its parent gets to report it.
        """
        ready = False
        while not (ready and self.init_pid):
            message = channel.recv()
            if message is None:
                raise CreateError(f"container {self.config.id!r}: the init exited during "
                                  "setup without saying why")
            if "error" in message:
                raise CreateError(f"container {self.config.id!r}: {message['error']}")
            if "userns" in message:
                try:
                    _write_id_maps(message["userns"], self.config)
                except OSError as exc:
                    channel.send(ok=False)
                    raise CreateError(f"writing ID maps: {exc.strerror}") from exc
                channel.send(ok=True)
            elif "pid" in message:
                self.init_pid = message["pid"]
                self.init_start = process_start_time(self.init_pid)
            elif "hooks" in message:
                state = self._oci_state()
                try:
                    hooks.run("createRuntime", self.config.hooks.create_runtime, state)
                    hooks.run("prestart", self.config.hooks.prestart, state)
                except HookError:
                    channel.send(ok=False)
                    raise
                channel.send(ok=True)
            elif message.get("ready"):
                ready = True

    def _oci_state(self) -> dict:
        return {"ociVersion": self.config.oci_version, "id": self.config.id,
                "status": CREATING, "pid": self.init_pid, "bundle": self.config.bundle,
                "annotations": self.config.annotations}

    def undo(self) -> None:
        """Kill what was started, remove the cgroup and the state directory."""
        if self.monitor_pid:
            # The monitor leads its own session, with the nsexec child and the init in it
            # (unless the init made a session for a terminal): kill the group and both.
            for kill, pid in ((os.killpg, self.monitor_pid), (os.kill, self.monitor_pid),
                              (os.kill, self.init_pid)):
                if pid:
                    try:
                        kill(pid, 9)
                    except ProcessLookupError:
                        pass
            try:
                os.waitpid(self.monitor_pid, 0)
            except ChildProcessError:
                pass
        if self.manager is not None:
            try:
                self.manager.kill()
                self.manager.destroy()
            except CgroupError:
                pass
        self.sd.remove()


def _write_id_maps(pid: int, config: Config) -> None:
    # Written by us, in the parent user namespace: the child that made the namespace
    # has no capabilities over it from the outside.
    for name, maps in (("uid_map", config.uid_mappings), ("gid_map", config.gid_mappings)):
        text = "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in maps)
        linux.write_file(f"/proc/{pid}/{name}", text)


def _write_pid_file(path: str, pid: int) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            f.write(str(pid))
        os.replace(tmp, path)
    except OSError as exc:
        raise ContainerError(f"--pid-file {path}: {exc.strerror}") from exc


def _hooks_json(config: Config) -> dict:
    """The hooks start and delete still need, in config.json's own form."""
    out = {}
    for key, attr in (("poststart", "poststart"), ("poststop", "poststop")):
        items = getattr(config.hooks, attr)
        if items:
            out[key] = [{"path": h.path, "args": h.args, "env": h.env, "timeout": h.timeout}
                        for h in items]
    return out
