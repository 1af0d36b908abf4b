"""File access for the cgroup drivers: the one place they touch cgroupfs.

Both drivers read and write cgroup control files, make and remove cgroup
directories and list member processes through these helpers, so that

- every write, mkdir and rmdir is reported to the learner's trace
  (`explain.step("write /sys/fs/cgroup/.../memory.max = 33554432")`), and
- every failure is a `CgroupError` naming the path and the kernel's reason,
  wrapping the `OSError` that caused it.

Control files are written with one `write(2)` on an unbuffered descriptor: the
kernel parses each write separately, and its error (EINVAL for a bad value, EBUSY
for a delegation conflict) must reach us from that very call.
"""

from __future__ import annotations

import errno
import os
import time

from .. import explain
from .base import CgroupError


def _fail(action: str, path: str, exc: OSError) -> CgroupError:
    return CgroupError(f"{action} {path}: {os.strerror(exc.errno or 0) or exc}")


def write(directory: str | bytes, name: str | bytes, value: object) -> None:
    """Write `value` to the control file `directory/name`, traced."""
    path = os.path.join(os.fsdecode(directory), os.fsdecode(name))
    text = str(value)
    explain.step(f"write {path} = {text}")
    try:
        # O_TRUNC, as a shell's `>` does: cgroupfs ignores it; a plain file (the v2
        # unit tests' stand-in tree) would otherwise keep a longer old value's tail.
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise _fail(f"write {text!r} to", path, exc) from exc


def read(directory: str | bytes, name: str | bytes) -> str:
    path = os.path.join(os.fsdecode(directory), os.fsdecode(name))
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError as exc:
        raise _fail("read", path, exc) from exc


def read_int(directory: str, name: str) -> int:
    """Read a one-number file; "max" (v2's spelling of unlimited) reads as -1."""
    text = read(directory, name)
    if text == "max":
        return -1
    try:
        return int(text)
    except ValueError as exc:
        raise CgroupError(f"read {directory}/{name}: not a number: {text!r}") from exc


def read_keyed(directory: str, name: str) -> dict[str, int]:
    """Read a flat-keyed file (`key value` per line: memory.stat, cpu.stat, ...)."""
    result = {}
    for line in read(directory, name).splitlines():
        key, _, value = line.partition(" ")
        try:
            result[key] = int(value)
        except ValueError:
            continue  # non-numeric entries ("max" in pids.events on some kernels)
    return result


def exists(directory: str, name: str = "") -> bool:
    return os.path.exists(os.path.join(directory, name))


def makedirs(path: str) -> list[str]:
    """Make `path` and missing ancestors, traced; returns the ones made, topmost first.

    All or nothing: if a level fails, the levels made before it are removed again.
    """
    missing = []
    probe = path
    while not os.path.isdir(probe):
        missing.append(probe)
        probe = os.path.dirname(probe)
    made: list[str] = []
    try:
        for directory in reversed(missing):
            explain.step(f"mkdir {directory}")
            try:
                os.mkdir(directory, 0o755)
            except FileExistsError as exc:
                if os.path.isdir(directory):
                    continue  # a concurrent creator won the race: the directory is there
                raise _fail("mkdir", directory, exc) from exc
            except OSError as exc:
                raise _fail("mkdir", directory, exc) from exc
            made.append(directory)
    except CgroupError:
        for directory in reversed(made):
            try:
                os.rmdir(directory)
            except OSError:
                pass
        raise
    return made


def procs(directory: str, recursive: bool = True) -> list[int]:
    """PIDs in `cgroup.procs` of `directory` (and of every cgroup below it)."""
    found: list[int] = []
    walk = os.walk(directory) if recursive else [(directory, [], [])]
    for current, _dirs, _files in walk:
        try:
            with open(os.path.join(current, "cgroup.procs")) as f:
                found.extend(int(line) for line in f if line.strip())
        except FileNotFoundError:
            continue  # removed while we walked
        except OSError as exc:
            raise _fail("read", os.path.join(current, "cgroup.procs"), exc) from exc
    return sorted(set(found))


def rmdir_if_empty(path: str) -> bool:
    """Remove the cgroup `path` if it holds no process and no cgroup: True once it is gone.

    One rmdir, the common case (a container that has exited); False if the kernel
    says it is busy, which `wait_until_empty` and `remove_tree` then deal with.
    """
    explain.step(f"rmdir {path}")
    try:
        os.rmdir(path)
    except FileNotFoundError:
        return True
    except OSError as exc:
        if exc.errno in (errno.EBUSY, errno.ENOTEMPTY):
            return False
        raise _fail("rmdir", path, exc) from exc
    return True


def remove_tree(path: str, timeout: float = 2.0) -> None:
    """Remove the cgroup `path` and every cgroup below it, deepest first.

    A cgroup whose last process just died stays busy for a moment (the kernel
    detaches the exiting task asynchronously), so EBUSY is retried until
    `timeout`; anything still busy then is a real error naming its processes.
    """
    if not os.path.isdir(path):
        return
    deadline = time.monotonic() + timeout
    for current, _dirs, _files in os.walk(path, topdown=False):
        _rmdir_patiently(current, deadline)


def _rmdir_patiently(directory: str, deadline: float) -> None:
    explain.step(f"rmdir {directory}")
    delay = 0.001
    while True:
        try:
            os.rmdir(directory)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() >= deadline:
                left = procs(directory) if exc.errno == errno.EBUSY else []
                detail = f" (processes still inside: {left})" if left else ""
                raise CgroupError(
                    f"rmdir {directory}: {os.strerror(exc.errno or 0)}{detail}") from exc
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def prune_empty(path: str, stop: str) -> None:
    """Remove the now-empty ancestors of `path` strictly below `stop`."""
    stop = os.path.normpath(stop)
    current = os.path.dirname(os.path.normpath(path))
    while current.startswith(stop + os.sep):
        try:
            os.rmdir(current)
        except OSError:
            return  # still holds other cgroups or processes: it is in use, keep it
        explain.step(f"rmdir {current}")
        current = os.path.dirname(current)


def wait_until_empty(directories: list[str], timeout: float) -> list[int]:
    """Wait up to `timeout` for every process to leave; returns those left."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        left = sorted({pid for d in directories if os.path.isdir(d) for pid in procs(d)})
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
