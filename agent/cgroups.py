"""Where the pods' cgroups go: below the agent's own cgroup, one directory per pod.

Each container's config.json gets the relative cgroupsPath
`<parent>/pod<UID>/<container id>`, the parent being `superlet-<node name>`
(several agents of a lab may share one cgroup; each sweeps only its own). The
runtime resolves it below its own cgroup, which is the agent's (superc's
spawner and runc's shims are the agent's children and stay in its cgroup), so
the agent never creates cgroups above the one it was given (DESIGN.md). superc
removes the empty parents of a container's cgroup when it deletes one; runc
removes only the container's own directory, and creates directories in every
hierarchy it finds (name=systemd and the unified one too). `remove_pod()`
therefore sweeps the pod's directory from every mounted hierarchy once the
pod's last container is gone, and `remove_all()` (when the node is reset) the
parent directory itself.
"""

from __future__ import annotations

import contextlib
import os


def container_path(parent: str, pod_uid: str, container_id: str) -> str:
    return f"{parent}/pod{pod_uid}/{container_id}"


def _own_directories(controllers_only: bool = False) -> list[str]:
    """This process's cgroup directory in every mounted hierarchy (v1, v2, named);
    with `controllers_only`, only in the v1 hierarchies that have a controller."""
    own: dict[frozenset[str], str] = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            own[frozenset(controllers.split(",")) if controllers else frozenset()] = path
    directories = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            dash = fields.index("-")
            fstype, options = fields[dash + 1], fields[dash + 3].split(",")
            mount_root, point = fields[3], fields[4]
            if fstype == "cgroup2":
                if controllers_only:
                    continue
                key = frozenset()
            elif fstype == "cgroup":
                key = frozenset(o for o in options if o not in ("rw", "ro") and (
                    o.startswith("name=") or "=" not in o) and o not in (
                    "nosuid", "nodev", "noexec", "relatime", "clone_children", "xattr"))
            else:
                continue
            if controllers_only and any(k.startswith("name=") for k in key):
                continue
            if key not in own:
                continue
            path = own[key]
            if not path.startswith(mount_root):
                continue
            relative = path[len(mount_root):].lstrip("/")
            directories.append(os.path.join(point, relative))
    return directories


def _remove_below(directory: str) -> None:
    if not os.path.isdir(directory):
        return
    for dirpath, dirnames, _ in os.walk(directory, topdown=False):
        for name in dirnames:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(dirpath, name))
    with contextlib.suppress(OSError):
        os.rmdir(directory)


def ensure_parent(parent: str) -> None:
    """Make the parent directory in every controller's hierarchy, before any pod needs it.

    The runtimes would make it on demand (and superc removes it again with the
    last container, runc never); made at the agent's start, it is there before
    the first pod, whichever runtime runs them.
    A v1 cpuset directory must be given CPUs and memory nodes before anything can
    live below it: they are copied from the parent, as runc does.
    """
    for own in _own_directories(controllers_only=True):
        path = os.path.join(own, parent)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            continue
        for name in ("cpuset.cpus", "cpuset.mems"):
            _inherit(os.path.join(own, name), os.path.join(path, name))


def _inherit(parent_file: str, child_file: str) -> None:
    try:
        with open(child_file) as f:
            if f.read().strip():
                return
        with open(parent_file) as f:
            value = f.read().strip()
        with open(child_file, "w") as f:
            f.write(value)
    except OSError:
        pass  # not a cpuset hierarchy, or nothing to copy


def remove_pod(parent: str, pod_uid: str) -> None:
    """Remove the pod's (empty) cgroup directories from every hierarchy.

    In the hierarchies without a controller (name=systemd, the hybrid layout's
    empty cgroup2), where only runc makes directories, the parent goes too once
    it is empty: nothing needs it there, and it is made again on demand.
    """
    for own in _own_directories():
        _remove_below(os.path.join(own, parent, f"pod{pod_uid}"))
    controlled = set(_own_directories(controllers_only=True))
    for own in set(_own_directories()) - controlled:
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(own, parent))


def remove_all(parent: str) -> None:
    """Remove every (empty) pod cgroup and the agent's parent directory."""
    for own in _own_directories():
        _remove_below(os.path.join(own, parent))
