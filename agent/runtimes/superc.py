"""superc through its warm path: the agent's default runtime.

The agent is multi-threaded and may not fork, so every operation that forks
(create, start, exec, delete: hooks and children) goes to superc's spawner, a
single-threaded process `launch()` starts while the agent is still single-
threaded (DESIGN.md's hard rule). Operations that only read or signal (state,
list, kill, stats) run in the calling thread through the same library
(`SpawnerClient` does that split). The spawner dies with the agent; the
containers do not: each has superc's monitor as its parent, which records the
exit status and writes the container's CRI log, and a new agent finds them all
in the state root.
"""

from __future__ import annotations

import json
import os
import select
import signal
import threading

from supernetes.runtime import errors as superc_errors
from supernetes.runtime.cgroups.base import CgroupError
from supernetes.runtime.container import process_start_time
from supernetes.runtime.spawner import SpawnerClient
from supernetes.runtime.state import EXIT, list_ids
from supernetes.runtime.stdio import Stdio, set_winsize

from .base import (
    CREATED,
    EXITED,
    RUNNING,
    ContainerInfo,
    ContainerNotFound,
    ContainerRuntime,
    ContainerRuntimeError,
    parse_rfc3339,
)

_STATUS = {"creating": CREATED, "created": CREATED, "running": RUNNING, "paused": RUNNING,
           "stopped": EXITED}


class SupercRuntime(ContainerRuntime):
    name = "superc"
    scheme = "superc://"

    def __init__(self, client: SpawnerClient):
        self.client = client
        self._seen: dict[str, tuple] = {}      # id -> (info, init start time) of the last list
        self._processes: dict[str, dict] = {}  # id -> config.json's process, for exec

    @classmethod
    def launch(cls, *, root: str, socket_path: str, cgroup_root: str | None = None
               ) -> SupercRuntime:
        os.makedirs(root, exist_ok=True)
        try:
            return cls(SpawnerClient.launch(socket_path, root, cgroup_root))
        except superc_errors.SupercError as exc:
            raise ContainerRuntimeError(f"starting superc's spawner: {exc}") from exc

    def version(self) -> str:
        return "superc://0.1.0"

    # --- lifecycle ---------------------------------------------------------------------

    def create(self, container_id: str, bundle: str, *, log_path: str,
               log_max_size: int, log_max_files: int) -> None:
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        with _errors(container_id):
            self.client.create(container_id, bundle, stdio=Stdio(
                stdin=os.devnull, log=log_path, log_max_size=log_max_size,
                log_max_files=log_max_files))

    def start(self, container_id: str) -> None:
        with _errors(container_id):
            self.client.start(container_id)

    def kill(self, container_id: str, signal: int) -> None:
        with _errors(container_id):
            try:
                self.client.kill(container_id, signal)
            except superc_errors.ContainerError as exc:
                if "not running" not in str(exc):
                    raise

    def delete(self, container_id: str, force: bool = False) -> None:
        with _errors(container_id):
            self.client.delete(container_id, force=force)

    # --- looking -----------------------------------------------------------------------

    def list(self) -> list[ContainerInfo]:
        """Every container; a running one already seen costs a stat and one /proc read.

        The PLEG calls this every second. A full read of a container's state
        (state.json, exit.json, /proc, the freezer) is kept for what may have
        changed: a container not seen before, or one whose exit record appeared
        or whose init (same PID *and* start time) is gone.
        """
        root = getattr(self.client, "local", self.client).root
        found = []
        seen = {}
        for container_id in list_ids(root):
            cached = self._seen.get(container_id)
            if cached is not None and _still_running(root, container_id, *cached):
                info = cached[0]
            else:
                try:
                    info = _info(self.client.state(container_id))
                except superc_errors.ContainerNotFound:
                    continue  # deleted while we listed
                except (superc_errors.SupercError, CgroupError, OSError) as exc:
                    raise ContainerRuntimeError(str(exc)) from exc
            seen[container_id] = (info, process_start_time(info.pid)
                                  if info.status == RUNNING and info.pid else None)
            found.append(info)
        self._seen = seen
        return found

    def info(self, container_id: str) -> ContainerInfo:
        with _errors(container_id):
            return _info(self.client.state(container_id))

    def stats(self, container_id: str):
        with _errors(container_id):
            return self.client.stats(container_id)

    # --- processes inside --------------------------------------------------------------

    def exec(self, container_id: str, argv: list[str], *, stdin: int | None = None,
             stdout: int | None = None, stderr: int | None = None, tty: bool = False,
             env: list[str] | None = None, timeout: float | None = None) -> int:
        """Run argv inside; its exit code. Past `timeout` it is SIGKILLed (137), as the
        kubelet ends an exec probe that overruns its timeoutSeconds."""
        handle = self.exec_stream(container_id, argv, stdin=stdin, stdout=stdout,
                                  stderr=stderr, tty=tty, env=env)
        try:
            pidfd = os.pidfd_open(handle.pid)  # a PID reused after the exit is never hit
        except ProcessLookupError:
            pidfd = None
        try:
            ready, _, _ = select.select([handle], [], [], timeout)
            if not ready and pidfd is not None:
                try:
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            with _errors(container_id):
                return int(handle.exit_code())
        finally:
            handle.close()
            if pidfd is not None:
                os.close(pidfd)
            if handle.console is not None:
                os.close(handle.console)

    def exec_stream(self, container_id: str, argv: list[str], *, stdin: int | None = None,
                    stdout: int | None = None, stderr: int | None = None, tty: bool = False,
                    env: list[str] | None = None):
        """Start the process without waiting (with a terminal, the spawner hands back its
        pty master); `_SupercExec` then waits for the exit code in a thread of its own."""
        process = dict(self._process_of(container_id))
        process["args"] = list(argv)
        process["terminal"] = tty
        if env:
            process["env"] = list(process.get("env") or []) + list(env)
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            stdio = Stdio(stdin=null if stdin is None else stdin,
                          stdout=null if stdout is None else stdout,
                          stderr=null if stderr is None else stderr)
            with _errors(container_id):
                reply = self.client.exec(container_id, process, stdio=stdio, wait=False,
                                         console="return" if tty else None)
        finally:
            os.close(null)
        started, console = (reply["result"], reply["console"]) if "console" in reply \
            else (reply, None)
        return _SupercExec(self.client, started["pid"], started["waiter"], console)

    def _process_of(self, container_id: str) -> dict:
        process = self._processes.get(container_id)
        if process is None:
            bundle = self.info(container_id).bundle
            try:
                with open(os.path.join(bundle, "config.json")) as f:
                    process = json.load(f)["process"]
            except (OSError, ValueError, KeyError) as exc:
                raise ContainerRuntimeError(f"container {container_id}: cannot read its "
                                            f"bundle's process: {exc}") from exc
            self._processes[container_id] = process
        return process

    def close(self) -> None:
        self.client.close()


def _still_running(root: str, container_id: str, info: ContainerInfo,
                   started: int | None) -> bool:
    return (info.status == RUNNING and started is not None
            and not os.path.exists(os.path.join(root, container_id, EXIT))
            and process_start_time(info.pid) == started)


def _info(state: dict) -> ContainerInfo:
    status = _STATUS.get(state.get("status", ""), EXITED)
    exit_code = state.get("exitCode")
    return ContainerInfo(
        id=state["id"], status=status, bundle=state.get("bundle", ""),
        pid=state.get("pid") or 0, annotations=state.get("annotations") or {},
        created_at=parse_rfc3339(state.get("created")),
        finished_at=parse_rfc3339(state.get("finished")) if status == EXITED else None,
        exit_code=exit_code, oom_killed=bool(state.get("oomKilled")),
        unknown_exit=status == EXITED and exit_code is None,
    )


class _SupercExec:
    """A streamed exec on superc: the handle `exec_stream` returns (see base.py).

    The spawner answers "exited, with this code" to a `wait_exec` call that blocks
    until then; a small thread makes that call and writes the code into a pipe,
    whose read end is `fileno()`, so the exec session can select on it.
    """

    def __init__(self, client, pid: int, waiter: int, console: int | None):
        self.pid = pid
        self.console = console
        self._code: int | None = None
        self._read, self._write = os.pipe2(os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._wait, args=(client, waiter),
                                        name=f"exec-wait-{pid}", daemon=True)
        self._thread.start()

    def _wait(self, client, waiter: int) -> None:
        try:
            code = int(client.wait_exec(waiter))
        except (superc_errors.SupercError, OSError, ValueError):
            code = 255
        try:
            os.write(self._write, str(code).encode())
        except OSError:
            pass                     # the session stopped listening (close())
        finally:
            os.close(self._write)

    def fileno(self) -> int:
        return self._read

    def resize(self, rows: int, cols: int) -> None:
        if self.console is not None:
            set_winsize(self.console, rows, cols)

    def exit_code(self) -> int:
        if self._code is None:
            self._thread.join()
            self._code = int(os.read(self._read, 16) or b"255")
        return self._code

    def close(self) -> None:
        """Stop listening (the waiting thread finishes on its own when the process exits)."""
        if self._read >= 0:
            os.close(self._read)
            self._read = -1


class _errors:
    """Translate superc's exceptions into the agent's, keeping the cause."""

    def __init__(self, container_id: str):
        self.container_id = container_id

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None:
            return False
        if isinstance(exc, superc_errors.ContainerNotFound):
            raise ContainerNotFound(str(exc)) from exc
        if isinstance(exc, (superc_errors.SupercError, CgroupError, OSError)):
            raise ContainerRuntimeError(str(exc)) from exc
        return False


class LocalSuperc(SupercRuntime):
    """superc without a spawner, for single-threaded tools (the node CLI, `reset`).

    The library's `Runtime` has the same methods as the spawner's client; a
    single-threaded process may fork, so it calls them directly.
    """

    def __init__(self, root: str):
        from supernetes.runtime.api import Runtime

        self.client = Runtime(root=root)
        self._seen = {}
        self._processes = {}

    def exec(self, container_id: str, argv: list[str], *, stdin: int | None = None,
             stdout: int | None = None, stderr: int | None = None, tty: bool = False,
             env: list[str] | None = None, timeout: float | None = None) -> int:
        from supernetes.runtime import execute

        with _errors(container_id):
            container = self.client.container(container_id)
            process = execute.process_for_exec(container, argv, env=env, tty=tty)
            handle = self.client.exec(container_id, process,
                                      stdio=Stdio(stdin=stdin, stdout=stdout, stderr=stderr))
            return execute.wait(handle)

    def close(self) -> None:
        pass
