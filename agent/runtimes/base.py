"""The runtime interface: the handful of operations the agent needs from a runtime.

A runtime manages OCI containers by ID under a state root; the agent never looks
inside that root itself. Every container the agent makes is created from a
bundle whose config.json carries the agent's annotations (`ocispec.py`), so
`list()` alone tells a freshly started agent which pod and attempt each
container belongs to. Operations, all safe to call from any thread:

    create(id, bundle, log_path)  set up; the init waits for start. Its stdout and
                                  stderr go to `log_path` in the CRI format
    start(id)                     let the init exec the user's program
    kill(id, signal)              signal the init (no error if it has exited)
    delete(id)                    remove what is left (force: kill first)
    list() / info(id)             ContainerInfo: status, annotations, exit record
    exec(id, argv, ...)           run a process inside; its exit code
    exec_stream(id, argv, ...)    start one and return at once (the exec API's streams)
    stats(id)                     cgroup statistics (runtime.cgroups.base.Stats)

Errors, wrapping the runtime's own:

    ContainerRuntimeError      the runtime failed (message: the runtime's reason)
    └── ContainerNotFound      no container of that ID
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field

CREATED, RUNNING, EXITED = "created", "running", "exited"


class ContainerRuntimeError(Exception):
    """A runtime operation failed; the message is the runtime's own reason."""


class ContainerNotFound(ContainerRuntimeError):
    """No container of that ID exists in the runtime."""


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    status: str                          # CREATED | RUNNING | EXITED
    bundle: str = ""
    pid: int = 0
    annotations: dict = field(default_factory=dict)
    created_at: float | None = None      # epoch seconds
    finished_at: float | None = None
    exit_code: int | None = None         # 128+signal when killed
    oom_killed: bool = False
    unknown_exit: bool = False           # stopped, but nobody recorded how


def parse_rfc3339(text: str | None) -> float | None:
    """RFC3339 with up to nanoseconds (as runtimes write it) to epoch seconds."""
    if not text:
        return None
    base, _, rest = text.rstrip("Z").partition(".")
    try:
        seconds = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    digits = "".join(c for c in rest if c.isdigit())
    return seconds + (float("0." + digits) if digits else 0.0)


class ContainerRuntime:
    """What every runtime driver implements."""

    name = "?"
    scheme = "?://"                      # containerID prefix in pod status

    def version(self) -> str:
        raise NotImplementedError

    def create(self, container_id: str, bundle: str, *, log_path: str,
               log_max_size: int, log_max_files: int) -> None:
        raise NotImplementedError

    def start(self, container_id: str) -> None:
        raise NotImplementedError

    def kill(self, container_id: str, signal: int) -> None:
        raise NotImplementedError

    def delete(self, container_id: str, force: bool = False) -> None:
        raise NotImplementedError

    def list(self) -> list[ContainerInfo]:
        raise NotImplementedError

    def info(self, container_id: str) -> ContainerInfo:
        raise NotImplementedError

    def exec(self, container_id: str, argv: list[str], *, stdin: int | None = None,
             stdout: int | None = None, stderr: int | None = None, tty: bool = False,
             env: list[str] | None = None, timeout: float | None = None) -> int:
        raise NotImplementedError

    def exec_stream(self, container_id: str, argv: list[str], *, stdin: int | None = None,
                    stdout: int | None = None, stderr: int | None = None, tty: bool = False,
                    env: list[str] | None = None):
        """Start `argv` inside and return at once, for the exec API (`exec_stream.py`).

        The handle has `pid`, `console` (with `tty`, the pty master: the caller's
        to close, read and written), `resize(rows, cols)`, `fileno()` (readable
        once the process has exited: it goes into the caller's select loop),
        `exit_code()` (then, 128+signal when killed) and `close()` (stop
        watching; the process runs on).
        """
        raise NotImplementedError

    def stats(self, container_id: str):
        raise NotImplementedError

    def close(self) -> None:
        """Let go of helper processes (the spawner); containers keep running."""
