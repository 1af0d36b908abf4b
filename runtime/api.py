"""The library API of superc: one `Runtime` object, one method per runc command.

The `superc` CLI parses its flags and calls exactly one of these methods; the
spawner (the agent's warm path) calls the very same ones on request. So there is
one code path for every lifecycle operation, whichever door it came in by.

    rt = Runtime(root="/run/superc")
    rt.create("web", "/bundles/web", stdio=Stdio(stdout="/logs/web.log", stderr=...))
    rt.start("web")
    rt.state("web")["status"]        # "running"
    rt.kill("web", "TERM"); rt.wait("web")  # {"exitCode": 143, "signal": 15, "oomKilled": False}
    rt.delete("web")

Methods that fork (create, run, exec, and start/delete for their hooks) must be
called from a single-threaded process; a threaded caller (the agent) uses the
same methods through `spawner.SpawnerClient`.
"""

from __future__ import annotations

import fcntl
import os
import time

from . import cgroup_link, config, destroy
from . import create as _create
from . import start as _start
from .cgroups.base import CgroupError, Resources, Stats
from .container import STOPPED, Container
from .errors import ContainerError
from .state import DEFAULT_ROOT, MONITOR_LOCK, list_ids
from .stdio import Stdio

# Imported where used, so `superc run` never loads the exec machinery; `typing` itself
# is not imported for TYPE_CHECKING either (2 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import execute

_FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


class Runtime:
    """superc's lifecycle operations on the containers under one state root."""

    def __init__(self, root: str = DEFAULT_ROOT, cgroup_root: str | None = None) -> None:
        self.root = root
        self.cgroup_root = cgroup_root

    def container(self, container_id: str) -> Container:
        return Container.load(self.root, container_id)

    # --- lifecycle -----------------------------------------------------------------------

    def create(self, container_id: str, bundle: str, *, stdio: Stdio | None = None,
               pid_file: str | None = None, console: str | int | None = None) -> dict:
        """Create the container (status "created"); returns its OCI state."""
        container = _create.create(self.root, container_id, bundle, cgroup_root=self.cgroup_root,
                                   stdio_spec=stdio, pid_file=pid_file, console=console)
        return container.oci_state()

    def start(self, container_id: str) -> list[str]:
        """Start a created container; returns poststart hook warnings."""
        return _start.start(self.container(container_id))

    def run(self, container_id: str, bundle: str, *, stdio: Stdio | None = None,
            detach: bool = False, pid_file: str | None = None,
            console: str | int | None = None, forward_signals: bool = False) -> int:
        """create + start; in the foreground also wait, delete, and return the exit code.

        With a terminal and no `console`, the pty is proxied to our own stdin/stdout.
        `forward_signals` (the CLI) passes SIGINT, SIGTERM, ... on to the container.
        """
        cfg = _create.load_config(bundle, container_id)
        proxy = None
        if console is None and not detach and cfg.process.terminal:
            from . import stdio as _stdio

            proxy, console = _stdio.console_pair()
        try:
            container = _create.create(self.root, container_id, bundle,
                                       cgroup_root=self.cgroup_root, stdio_spec=stdio,
                                       pid_file=pid_file, console=console, config=cfg)
        finally:
            if proxy is not None:
                os.close(console)
        try:
            master = None
            if proxy is not None:
                from . import stdio as _stdio

                master = _stdio.recv_master(proxy)
                proxy.close()
            if forward_signals:
                _forward_signals(container)
            _start.start(container)
            if detach:
                return 0
            if master is not None:
                _stdio.proxy(master)
                os.close(master)
            _, status = os.waitpid(container.data["monitor_pid"], 0)
        except BaseException:
            if not detach:
                self._force_delete(container_id)
            raise
        return self.finish_run(container, status)

    # `run` in two halves, for a caller with an event loop (the spawner): it starts the
    # container, waits for the monitor (`container.data["monitor_pid"]`, its child) as
    # it likes, and finishes. The container stays in memory in between: no state file
    # is read back, no status derived again.

    def start_run(self, container_id: str, bundle: str, *, stdio: Stdio | None = None,
                  pid_file: str | None = None, console: str | int | None = None) -> Container:
        """create + start; the running container (deleted again if start fails)."""
        container = _create.create(self.root, container_id, bundle, cgroup_root=self.cgroup_root,
                                   stdio_spec=stdio, pid_file=pid_file, console=console)
        try:
            _start.start(container)
        except BaseException:
            self._force_delete(container_id)
            raise
        return container

    def finish_run(self, container: Container, status: int) -> int:
        """Delete a container `run` started once its monitor exited with wait `status`;
        the container's exit code (128+signal when killed)."""
        destroy.delete(container)
        code = os.waitstatus_to_exitcode(status)
        return code if code >= 0 else 128 - code

    def _force_delete(self, container_id: str) -> None:
        try:
            destroy.delete(self.container(container_id), force=True)
        except ContainerError:
            pass

    def state(self, container_id: str) -> dict:
        return self.container(container_id).oci_state()

    def list(self) -> list[dict]:
        out = []
        for container_id in list_ids(self.root):
            try:
                out.append(self.state(container_id))
            except ContainerError:
                continue  # deleted while we listed
        return out

    def kill(self, container_id: str, sig: str | int = "SIGTERM",
             all_processes: bool = False) -> None:
        """Signal the init (or, with `all_processes`, every process in the cgroup)."""
        from . import signals

        signals.kill(self.container(container_id), signals.parse_signal(sig), all_processes)

    def delete(self, container_id: str, force: bool = False) -> list[str]:
        """Delete the container; returns poststop hook warnings."""
        return destroy.delete(self.container(container_id), force)

    def wait(self, container_id: str, timeout: float | None = None) -> dict:
        """Block until the container has stopped; its exit record (exitCode, signal, oomKilled)."""
        container = self.container(container_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        lock = os.open(container.dir.file(MONITOR_LOCK), os.O_RDONLY | os.O_CLOEXEC)
        try:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    break  # the monitor has gone: the record is written
                except BlockingIOError:
                    pass
                if deadline is not None and time.monotonic() > deadline:
                    raise ContainerError(f"container {container_id!r} is still running")
                time.sleep(0.01)
        finally:
            os.close(lock)
        record = container.exit_record()
        if record is None:
            raise ContainerError(f"container {container_id!r} stopped without an exit record "
                                 "(its monitor was killed)")
        return record

    # --- processes inside ------------------------------------------------------------------

    def exec(self, container_id: str, process: config.ProcessConfig, *,
             stdio: Stdio | None = None,
             console: str | int | None = None) -> execute.ExecHandle:
        """Start `process` in the container (see `execute.process_for_exec`)."""
        from . import execute

        return execute.exec_process(self.container(container_id), process, stdio_spec=stdio,
                                    console=console)

    def ps(self, container_id: str) -> list[int]:
        manager = self._manager(container_id)
        return manager.pids() if manager.exists() else []

    # --- resources -------------------------------------------------------------------------

    def pause(self, container_id: str) -> None:
        container = self.container(container_id)
        container.require("pause")
        self._cgroup(container_id, "pause", lambda m: m.freeze())

    def resume(self, container_id: str) -> None:
        container = self.container(container_id)
        container.require("resume")
        self._cgroup(container_id, "resume", lambda m: m.thaw())

    def update(self, container_id: str, resources: Resources) -> None:
        self.container(container_id).require("update")
        self._cgroup(container_id, "update", lambda m: m.set(resources))

    def stats(self, container_id: str) -> Stats:
        return self._cgroup(container_id, "stats", lambda m: m.stats())

    def _manager(self, container_id: str):
        manager = cgroup_link.load(self.container(container_id).data)
        if manager is None:
            raise ContainerError(f"container {container_id!r} has no cgroup")
        return manager

    def _cgroup(self, container_id: str, what: str, action):
        try:
            return action(self._manager(container_id))
        except CgroupError as exc:
            raise ContainerError(f"{what} {container_id!r}: {exc}") from exc


def _forward_signals(container: Container) -> None:
    """Pass the signals a foreground `superc run` receives on to the container's init."""
    import _signal  # `signal` without its enums (see launch.py)

    pid = container.pid

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for name in _FORWARDED:
        _signal.signal(getattr(_signal, name), forward)


__all__ = ["STOPPED", "Resources", "Runtime", "Stdio"]
