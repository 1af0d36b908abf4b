"""The pod sandbox: the namespaces a pod's containers share, held by bind mounts.

Kubernetes keeps a pod's shared namespaces alive with a "pause" container. We
need no process for that: a namespace lives as long as something refers to it,
and a bind mount of `/proc/<pid>/ns/net` onto a file is such a reference (it is
what `ip netns add` does). So a pod's sandbox is a directory

    <run_dir>/pods/<pod UID>/ns/net   the network namespace (eth0, lo)
    <run_dir>/pods/<pod UID>/ns/ipc   System V IPC and POSIX message queues
    <run_dir>/pods/<pod UID>/ns/uts   the hostname (the pod's name)

made by one `unshare --net=F --ipc=F --uts=F hostname <pod name>` (util-linux):
unshare creates the namespaces, bind-mounts each onto its file, and runs
`hostname` inside them to name the pod. Every container of the pod then *joins*
these namespaces by path (OCI `linux.namespaces[].path`), and gets PID and mount
namespaces of its own. Running a program (subprocess: fork + immediate exec)
keeps the multi-threaded agent clear of Python-level fork().

`remove()` unmounts the files; the kernel frees each namespace once the last
container using it has exited. A `hostNetwork` pod has no net file: its
containers stay in the node's network namespace.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass

from supernetes.runtime import linux

NAMESPACES = ("net", "ipc", "uts")


class SandboxError(RuntimeError):
    """The pod's namespaces could not be created or removed."""


@dataclass(frozen=True)
class Sandbox:
    uid: str
    dir: str
    host_network: bool

    def ns_path(self, kind: str) -> str | None:
        if kind == "net" and self.host_network:
            return None
        return os.path.join(self.dir, "ns", kind)


class Sandboxes:
    def __init__(self, run_dir: str):
        self.root = os.path.join(run_dir, "pods")

    def path(self, uid: str) -> str:
        return os.path.join(self.root, uid)

    def ensure(self, uid: str, hostname: str, host_network: bool = False) -> Sandbox:
        """Create the pod's namespaces, or return them when they already exist."""
        sandbox = Sandbox(uid=uid, dir=self.path(uid), host_network=host_network)
        kinds = [k for k in NAMESPACES if sandbox.ns_path(k)]
        if all(_is_ns_mount(sandbox.ns_path(k)) for k in kinds):
            return sandbox
        self.remove(uid)  # half-made by an agent that died mid-way: start again
        ns_dir = os.path.join(sandbox.dir, "ns")
        os.makedirs(ns_dir, exist_ok=True)
        args = ["unshare"]
        for kind in kinds:
            path = os.path.join(ns_dir, kind)
            open(path, "w").close()
            args.append(f"--{kind}={path}")
        args += ["hostname", hostname]
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            self.remove(uid)
            raise SandboxError(f"pod {uid}: {' '.join(args)}: {result.stderr.strip()}")
        return sandbox

    def remove(self, uid: str) -> None:
        directory = self.path(uid)
        ns_dir = os.path.join(directory, "ns")
        for kind in NAMESPACES:
            path = os.path.join(ns_dir, kind)
            while _is_ns_mount(path):
                try:
                    linux.umount2(path, linux.MNT_DETACH)
                except OSError as exc:
                    raise SandboxError(f"pod {uid}: unmount {path}: {exc}") from exc
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(directory)

    def list(self) -> list[str]:
        try:
            return sorted(os.listdir(self.root))
        except FileNotFoundError:
            return []


def _is_ns_mount(path: str | None) -> bool:
    if path is None or not os.path.exists(path):
        return False
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)
