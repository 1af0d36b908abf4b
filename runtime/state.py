"""Container state on disk: one directory per container under the state root.

    <root>/<id>/state.json    what create learned: pid, start time, bundle, cgroup
                              paths, hooks, the process defaults exec uses (JSON)
    <root>/<id>/exec.fifo     exists from create until start: the init blocks on it
    <root>/<id>/exit.json     written by the monitor when the init exits: exit code,
                              signal, whether the kernel OOM-killed something
    <root>/<id>/monitor.lock  held (flock) by the monitor for as long as it lives

The root defaults to /run/superc (a tmpfs, like runc's /run/runc), so state
vanishes with a reboot, as the containers do. Every file is replaced atomically
(write a temporary file, rename it), so a reader never sees half a state. Changes
that depend on the current status (start, delete) hold an exclusive `flock` on the
container's directory, so two `superc` processes never act on one container at
once.
"""

from __future__ import annotations

import fcntl
import os

from . import fastjson
from .errors import ContainerError, ContainerExists, ContainerNotFound

DEFAULT_ROOT = "/run/superc"
STATE = "state.json"
EXIT = "exit.json"
FIFO = "exec.fifo"
MONITOR_LOCK = "monitor.lock"


class StateDir:
    """The directory of one container."""

    def __init__(self, root: str, container_id: str) -> None:
        self.root = root
        self.id = container_id
        self.path = os.path.join(root, container_id)

    @classmethod
    def create(cls, root: str, container_id: str) -> StateDir:
        """Make the directory; ContainerExists if the ID is taken."""
        os.makedirs(root, mode=0o700, exist_ok=True)
        sd = cls(root, container_id)
        try:
            os.mkdir(sd.path, 0o700)
        except FileExistsError as exc:
            raise ContainerExists(f"container {container_id!r} already exists") from exc
        except OSError as exc:
            raise ContainerError(f"cannot create state directory {sd.path}: {exc.strerror}") \
                from exc
        return sd

    @classmethod
    def open(cls, root: str, container_id: str) -> StateDir:
        """An existing container's directory; ContainerNotFound otherwise."""
        sd = cls(root, container_id)
        if "/" in container_id or container_id in ("", ".", "..") or \
                not os.path.isfile(sd.file(STATE)):
            raise ContainerNotFound(f"container {container_id!r} does not exist")
        return sd

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def lock(self) -> _Lock:
        """`with sd.lock():` serialises status-changing operations on this container."""
        return _Lock(self.path)

    def write_state(self, data: dict) -> None:
        _write_json(self.file(STATE), data)

    def read_state(self) -> dict:
        try:
            return fastjson.loads(_read(self.file(STATE)))
        except FileNotFoundError as exc:
            raise ContainerNotFound(f"container {self.id!r} does not exist") from exc
        except ValueError as exc:
            raise ContainerError(f"state of container {self.id!r} is corrupt: {exc}") from exc

    def write_exit(self, data: dict) -> None:
        _write_json(self.file(EXIT), data)

    def read_exit(self) -> dict | None:
        try:
            return fastjson.loads(_read(self.file(EXIT)))
        except (FileNotFoundError, ValueError):
            return None

    def make_fifo(self) -> str:
        path = self.file(FIFO)
        os.mkfifo(path, 0o600)
        return path

    def has_fifo(self) -> bool:
        return os.path.exists(self.file(FIFO))

    def remove(self) -> None:
        """Delete the directory and everything in it (it holds only flat files)."""
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return
        for name in names:
            try:
                os.unlink(self.file(name))
            except FileNotFoundError:
                pass
        try:
            os.rmdir(self.path)
        except FileNotFoundError:
            pass


def list_ids(root: str) -> list[str]:
    """Every container ID under the root, sorted."""
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if os.path.isfile(os.path.join(root, n, STATE)))


class _Lock:
    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> _Lock:
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            raise ContainerNotFound(f"container {os.path.basename(self.path)!r} "
                                    "does not exist") from exc
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # closing drops the flock


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _write_json(path: str, data: dict) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(fastjson.dumps(data).encode())
    os.replace(tmp, path)
