"""The cgroups a dead machine leaves behind, and how to remove them.

A machine's processes die with its init, its mounts with its mount namespace,
its interfaces with its network namespace; cgroups are the one thing that
belongs to none of them. The agent keeps its pods' cgroups below
`<its own cgroup>/superlet-<node name>` in every hierarchy, and its own cgroup
is the init's (nothing in a machine moves itself elsewhere). So the lab notes
the init's cgroup directories when the machine boots (`cgroup_dirs`) and, once
the machine is dead, removes each `superlet-<node>` subtree, deepest first
(`sweep`). A cgroup can only be removed when no process is left in it; the
kernel may need a moment to finish killing them, so each removal is retried
briefly.
"""

from __future__ import annotations

import os
import time


def cgroup_dirs(pid: int) -> list[str]:
    """The directory of `pid`'s cgroup in every hierarchy mounted here (v1, named, v2)."""
    paths: dict[str, str] = {}   # hierarchy key ("cpu,cpuacct", "name=systemd", "") -> path
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            paths[controllers] = path
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            dash = fields.index("-")
            fstype, options = fields[dash + 1], fields[dash + 3].split(",")
            root, point = fields[3], fields[4]
            if fstype == "cgroup2":
                key = ""
            elif fstype == "cgroup":
                key = next((k for k in paths if k and set(k.split(",")) <= set(options)), None)
            else:
                continue
            path = paths.get(key) if key is not None else None
            if path is None or not path.startswith(root):
                continue
            found.append(os.path.join(point, path[len(root):].lstrip("/")).rstrip("/"))
    return sorted(set(found))


def agent_parent(node_name: str) -> str:
    """The agent's cgroup parent for `node_name` (agent/cgroups.py's naming)."""
    return f"superlet-{node_name}"


def sweep(dirs: list[str], child: str, timeout: float = 10.0) -> list[str]:
    """Remove `<dir>/<child>` with everything below it from each dir; what could not go."""
    left = []
    for directory in dirs:
        top = os.path.join(directory, child)
        if not os.path.isdir(top):
            continue
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: len(w[0]), reverse=True):
            if not _rmdir(dirpath, timeout):
                left.append(dirpath)
    return left


def _rmdir(path: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
