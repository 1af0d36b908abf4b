"""Any OCI runtime binary (runc, crun, `superc` itself) through its command line.

The binary does create/start/kill/delete/exec; a shim per container (shim.py)
does what a CLI cannot: stay the parent of the init to learn its exit status,
and turn the container's output into a CRI log. Each container has a small
state directory of the agent's own next to the runtime's root:

    <root>/shims/<id>/pid         the init's PID (runc's --pid-file)
    <root>/shims/<id>/shim.pid    the shim's PID, while it lives
    <root>/shims/<id>/started     written when `start` succeeded
    <root>/shims/<id>/exit.json   written by the shim when the init has exited
    <root>/shims/<id>/bundle      the bundle path (annotations are read from it)

`list()` and `info()` read only these files (and /proc), never run the binary:
the agent's relist looks at every container every second, and forking runc
that often for a hundred containers would cost more than the containers.
The binary's own state lives in `<root>/state` (its `--root`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal as signals
import subprocess
import sys
import time

from supernetes.runtime.cgroups import factory
from supernetes.runtime.cgroups.base import CgroupError
from supernetes.runtime.stdio import set_winsize

from .base import (
    CREATED,
    EXITED,
    RUNNING,
    ContainerInfo,
    ContainerNotFound,
    ContainerRuntime,
    ContainerRuntimeError,
)

CREATE_TIMEOUT = 60.0


class OciCliRuntime(ContainerRuntime):
    def __init__(self, binary: str, *, root: str):
        self.binary = shutil.which(binary) or binary
        if not os.access(self.binary, os.X_OK):
            raise ContainerRuntimeError(f"OCI runtime {binary!r} not found or not executable")
        self.name = os.path.basename(self.binary)
        self.scheme = f"{self.name}://"
        self.state_root = os.path.join(root, "state")
        self.shims = os.path.join(root, "shims")
        os.makedirs(self.state_root, exist_ok=True)
        os.makedirs(self.shims, exist_ok=True)
        self._annotations: dict[str, tuple[dict, dict]] = {}  # id -> (annotations, process)
        self._seen: dict[str, tuple[ContainerInfo, int]] = {}  # id -> (info, shim PID)
        self._version: str | None = None

    def version(self) -> str:
        if self._version is None:
            result = self._run(["--version"], check=False)
            first = (result.stdout.splitlines() or ["?"])[0]
            self._version = f"{self.name}://{first.split()[-1]}"
        return self._version

    # --- lifecycle ---------------------------------------------------------------------

    def create(self, container_id: str, bundle: str, *, log_path: str,
               log_max_size: int, log_max_files: int) -> None:
        state = self._dir(container_id)
        if os.path.exists(state):
            raise ContainerRuntimeError(f"container {container_id!r} already exists")
        os.makedirs(state)
        _write(os.path.join(state, "bundle"), os.path.abspath(bundle))
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        command = [sys.executable, "-m", "supernetes.agent.runtimes.shim",
                   "--runtime", self.binary, "--root", self.state_root, "--id", container_id,
                   "--bundle", os.path.abspath(bundle), "--state-dir", state,
                   "--log", log_path, "--log-max-size", str(log_max_size),
                   "--log-max-files", str(log_max_files)]
        oom_file = self._oom_file(bundle)
        if oom_file:
            command += ["--oom-file", oom_file]
        shim = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            line = _read_line(shim.stdout, CREATE_TIMEOUT)
        finally:
            shim.stdout.close()
            shim.wait()  # the first shim process exits at once; its child carries on
        if not line.startswith("ok "):
            shutil.rmtree(state, ignore_errors=True)
            reason = line.removeprefix("error ").strip() or "the shim exited without a word"
            raise ContainerRuntimeError(f"{self.name} create {container_id}: {reason}")

    def start(self, container_id: str) -> None:
        self._known(container_id)
        self._run(["start", container_id])
        _write(os.path.join(self._dir(container_id), "started"), repr(time.time()))

    def kill(self, container_id: str, signal: int) -> None:
        info = self.info(container_id)
        if info.status == EXITED:
            return
        result = self._run(["kill", container_id, str(signal)], check=False)
        if result.returncode != 0 and "not running" not in result.stderr \
                and self.info(container_id).status != EXITED:
            raise ContainerRuntimeError(f"{self.name} kill {container_id}: "
                                        f"{result.stderr.strip()}")

    def delete(self, container_id: str, force: bool = False) -> None:
        state = self._known(container_id)
        args = ["delete", "--force", container_id] if force else ["delete", container_id]
        result = self._run(args, check=False)
        if result.returncode != 0 and "does not exist" not in result.stderr:
            raise ContainerRuntimeError(f"{self.name} delete {container_id}: "
                                        f"{result.stderr.strip()}")
        self._wait_for_shim(state)
        shutil.rmtree(state, ignore_errors=True)
        self._annotations.pop(container_id, None)

    # --- looking -----------------------------------------------------------------------

    def list(self) -> list[ContainerInfo]:
        """Every container; a running one already seen costs one stat and one /proc read."""
        found = []
        seen = {}
        for name in sorted(os.listdir(self.shims)):
            cached = self._seen.get(name)
            state = os.path.join(self.shims, name)
            if cached is not None and cached[0].status == RUNNING and _alive(cached[1]) \
                    and not os.path.exists(os.path.join(state, "exit.json")):
                info = cached[0]
            else:
                try:
                    info = self.info(name)
                except ContainerNotFound:
                    continue
            seen[name] = (info, int(_read(os.path.join(state, "shim.pid")) or 0)
                          if cached is None or cached[0] is not info else cached[1])
            found.append(info)
        self._seen = seen
        return found

    def info(self, container_id: str) -> ContainerInfo:
        state = self._known(container_id)
        bundle = _read(os.path.join(state, "bundle")) or ""
        annotations, _ = self._config(container_id, bundle)
        created = _mtime(os.path.join(state, "bundle"))
        exit_record = _read_json(os.path.join(state, "exit.json"))
        pid = int(_read(os.path.join(state, "pid")) or 0)
        if exit_record is not None:
            return ContainerInfo(container_id, EXITED, bundle, pid, annotations, created,
                                 exit_record.get("finished"), exit_record.get("exitCode"),
                                 bool(exit_record.get("oomKilled")))
        if not _alive(int(_read(os.path.join(state, "shim.pid")) or 0)):
            # Nobody is left to write the record (the shim was killed, or never ran).
            # While the shim lives, an exited init is "running" until the shim has
            # drained its output and written the record.
            return ContainerInfo(container_id, EXITED, bundle, pid, annotations, created,
                                 _mtime(state), None, False, unknown_exit=True)
        status = RUNNING if os.path.exists(os.path.join(state, "started")) else CREATED
        return ContainerInfo(container_id, status, bundle, pid, annotations, created)

    def stats(self, container_id: str):
        self._known(container_id)
        manager = self._cgroup(container_id)
        try:
            return manager.stats() if manager is not None and manager.exists() else None
        except CgroupError as exc:
            raise ContainerRuntimeError(f"stats {container_id}: {exc}") from exc

    # --- processes inside --------------------------------------------------------------

    def exec(self, container_id: str, argv: list[str], *, stdin: int | None = None,
             stdout: int | None = None, stderr: int | None = None, tty: bool = False,
             env: list[str] | None = None, timeout: float | None = None) -> int:
        if tty:
            raise ContainerRuntimeError(f"exec with a terminal is not supported on {self.name}")
        args = ["exec"]
        for item in env or []:
            args += ["--env", item]
        args += [container_id, *argv]
        process = subprocess.Popen(
            [self.binary, "--root", self.state_root, *args],
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=subprocess.DEVNULL if stdout is None else stdout,
            stderr=subprocess.DEVNULL if stderr is None else stderr)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # runc exec passes SIGTERM on to the process it started, then returns.
            process.send_signal(signals.SIGTERM)
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            return 137

    def exec_stream(self, container_id: str, argv: list[str], *, stdin: int | None = None,
                    stdout: int | None = None, stderr: int | None = None, tty: bool = False,
                    env: list[str] | None = None):
        """`<binary> exec` in the foreground, returned at once: it waits for the process
        and exits with its status, so its pidfd says when.

        With `tty`, the binary allocates the terminal inside the container and copies
        it to and from its own stdio, which is then a terminal of ours (a pty pair):
        its master is the handle's console, and a resize is passed on the way an
        interactive user's is (the new size on our terminal, SIGWINCH to the binary,
        which applies it inside). runc offers its console socket only when detached,
        and a detached exec's exit status would be lost.
        """
        self._known(container_id)
        args = ["exec"]
        for item in env or []:
            args += ["--env", item]
        master = slave = None
        if tty:
            master, slave = os.openpty()
            args.append("--tty")
            stdin = stdout = stderr = slave
        try:
            process = subprocess.Popen(
                [self.binary, "--root", self.state_root, *args, container_id, *argv],
                stdin=subprocess.DEVNULL if stdin is None else stdin,
                stdout=subprocess.DEVNULL if stdout is None else stdout,
                stderr=subprocess.DEVNULL if stderr is None else stderr)
        except OSError as exc:
            if master is not None:
                os.close(master)
            raise ContainerRuntimeError(f"{self.name} exec {container_id}: {exc}") from exc
        finally:
            if slave is not None:
                os.close(slave)
        return _CliExec(process, master)

    # --- helpers -----------------------------------------------------------------------

    def _dir(self, container_id: str) -> str:
        if "/" in container_id or container_id in ("", ".", ".."):
            raise ContainerNotFound(f"invalid container id {container_id!r}")
        return os.path.join(self.shims, container_id)

    def _known(self, container_id: str) -> str:
        state = self._dir(container_id)
        if not os.path.isfile(os.path.join(state, "bundle")):
            raise ContainerNotFound(f"container {container_id!r} does not exist")
        return state

    def _config(self, container_id: str, bundle: str) -> tuple[dict, dict]:
        cached = self._annotations.get(container_id)
        if cached is None:
            config = _read_json(os.path.join(bundle, "config.json")) or {}
            cached = (config.get("annotations") or {}, config)
            self._annotations[container_id] = cached
        return cached

    def _cgroup(self, container_id: str):
        bundle = _read(os.path.join(self._dir(container_id), "bundle")) or ""
        _, config = self._config(container_id, bundle)
        path = (config.get("linux") or {}).get("cgroupsPath")
        if not path:
            return None
        try:
            return factory.new_manager(path)
        except CgroupError:
            return None

    def _oom_file(self, bundle: str) -> str | None:
        config = _read_json(os.path.join(bundle, "config.json")) or {}
        path = (config.get("linux") or {}).get("cgroupsPath")
        if not path:
            return None
        try:
            paths = factory.new_manager(path).paths()
        except CgroupError:
            return None
        if "" in paths:
            return os.path.join(paths[""], "memory.events")
        if "memory" in paths:
            return os.path.join(paths["memory"], "memory.oom_control")
        return None

    def _wait_for_shim(self, state: str, timeout: float = 5.0) -> None:
        pid = int(_read(os.path.join(state, "shim.pid")) or 0)
        deadline = time.monotonic() + timeout
        while pid and _alive(pid) and not os.path.exists(os.path.join(state, "exit.json")) \
                and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([self.binary, "--root", self.state_root, *args],
                                capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise ContainerRuntimeError(f"{self.name} {args[0]}: {result.stderr.strip()}")
        return result


class _CliExec:
    """A foreground `<binary> exec`: the process's handle for `exec_stream`."""

    def __init__(self, process: subprocess.Popen, console: int | None):
        self.process = process
        self.pid = process.pid
        self.console = console
        self._pidfd = os.pidfd_open(process.pid)

    def fileno(self) -> int:
        return self._pidfd

    def resize(self, rows: int, cols: int) -> None:
        if self.console is not None:
            set_winsize(self.console, rows, cols)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signals.SIGWINCH)

    def exit_code(self) -> int:
        code = self.process.wait()
        return 128 - code if code < 0 else code

    def close(self) -> None:
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1


def _read_line(stream, timeout: float) -> str:
    import select

    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline().decode(errors="replace") if ready else ""


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] not in (b"Z", b"X")


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _read_json(path: str) -> dict | None:
    text = _read(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _write(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
