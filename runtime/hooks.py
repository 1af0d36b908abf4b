"""OCI hooks: programs run at fixed points of the lifecycle, with the state on stdin.

    createRuntime, prestart   by the caller (runtime namespace), after the container's
                              namespaces exist, before pivot_root      (create.py)
    createContainer           by the init, in the container's namespaces, before
                              pivot_root                               (init.py)
    startContainer            by the init, after `start`, before the user program
    poststart                 by the caller, after `start`             (start.py)
    poststop                  by the caller, when the container is deleted (destroy.py)

Each hook gets the OCI state JSON on stdin, its own `args` and `env`, and the
caller's stdout/stderr. A failing createRuntime/prestart/createContainer/
startContainer hook fails the operation (and the container is torn down);
poststart and poststop failures are warnings, as the spec says.

Hooks are started with fork + execve rather than `subprocess`: the init runs them
after pivot_root, where no Python module can be imported any more, and the caller
is always single-threaded (the CLI or the spawner).
"""

from __future__ import annotations

import os
import time

from . import fastjson, linux
from .errors import HookError
from .spec import Hook


def run(kind: str, hooks: list[Hook], state: dict) -> None:
    """Run `hooks` in order; the first failure raises HookError."""
    if not hooks:
        return
    payload = fastjson.dumps(state).encode()
    for hook in hooks:
        _run_one(kind, hook, payload)


def run_warn(kind: str, hooks: list[Hook], state: dict) -> list[str]:
    """Run every hook; failures are returned (and printed) as warnings, not raised."""
    warnings = []
    for hook in hooks:
        try:
            run(kind, [hook], state)
        except HookError as exc:
            warnings.append(str(exc))
            os.write(2, f"superc: warning: {exc}\n".encode())
    return warnings


def _run_one(kind: str, hook: Hook, payload: bytes) -> None:
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = linux.fork(f"{kind} hook {hook.path}")
    if pid == 0:
        try:
            os.dup2(r, 0)
            env = dict(item.partition("=")[::2] for item in hook.env)
            os.execve(hook.path, hook.args or [hook.path], env)
        except OSError as exc:
            os.write(2, f"superc: {kind} hook {hook.path}: {exc.strerror}\n".encode())
        finally:
            os._exit(127)
    os.close(r)
    try:
        os.write(w, payload)
    except BrokenPipeError:
        pass  # the hook does not read its stdin; that is its right
    finally:
        os.close(w)
    status = _wait(pid, hook.timeout)
    if status is None:
        raise HookError(f"{kind} hook {hook.path} timed out after {hook.timeout}s")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise HookError(f"{kind} hook {hook.path} {how}")


def _wait(pid: int, timeout: int | None) -> int | None:
    """The wait status of `pid`, or None after killing it when `timeout` seconds pass."""
    if not timeout:
        return os.waitpid(pid, 0)[1]
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
