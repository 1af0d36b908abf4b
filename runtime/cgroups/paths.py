"""Where cgroups live: the mode of the machine, the caller's own cgroups, and the
directory a container's cgroup gets.

Talks to `/proc/self/cgroup` (which cgroup the caller is in, per hierarchy),
`/proc/self/mountinfo` (where each v1 hierarchy is mounted, and which part of it
the mount shows) and the cgroup root itself (`/sys/fs/cgroup`).

The placement rule: a container's cgroup is always *below a parent*. The parent
is the caller's own cgroup unless one is given explicitly (`--cgroup-root`); an
absolute or relative `cgroupsPath` is resolved below that parent, never above it,
and `..` cannot climb out of it. So `superc` run from a shell in
`/user.slice/session-3.scope` with cgroupsPath `/web/c1` gets
`/user.slice/session-3.scope/web/c1`, and nothing is ever moved out of, or
created above, the cgroup the caller was given.
"""

from __future__ import annotations

import os
import posixpath

from .base import CgroupError

UNIFIED, HYBRID, LEGACY = "unified", "hybrid", "legacy"

# The v1 controllers the driver manages; other hierarchies (name=systemd,
# net_cls, perf_event, hugetlb...) are left alone.
V1_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices", "blkio")


def detect_mode(root: str = "/sys/fs/cgroup") -> str:
    """"unified" (cgroup2 at root), "hybrid" (v1 controllers plus cgroup2 at
    root/unified) or "legacy" (v1 only), as runc and systemd name them.

    Decided from the files the kernel puts in a cgroupfs root (cgroup2 has
    `cgroup.controllers`, v1 hierarchies have `tasks`), which also works for a
    tree that is not a mount point.
    """
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return UNIFIED
    try:
        entries = os.listdir(root)
    except OSError as exc:
        raise CgroupError(f"cannot read the cgroup root {root}: {exc.strerror}") from exc
    if not any(os.path.exists(os.path.join(root, e, "tasks")) for e in entries):
        raise CgroupError(f"no cgroup filesystem is mounted at {root}")
    if os.path.exists(os.path.join(root, "unified", "cgroup.controllers")):
        return HYBRID
    return LEGACY


def own_cgroups(proc_cgroup: str = "/proc/self/cgroup") -> dict[str, str]:
    """The caller's cgroup per hierarchy: {"memory": "/a/b", ..., "": "/"}.

    Lines look like `4:memory:/process_api/ab12` (v1; co-mounted controllers
    appear as `cpu,cpuacct`) and `0::/init.scope` (the cgroup2 hierarchy, key "").
    """
    result: dict[str, str] = {}
    try:
        with open(proc_cgroup) as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise CgroupError(f"cannot read {proc_cgroup}: {exc.strerror}") from exc
    for line in lines:
        _hid, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            result[controller] = path
    return result


class Hierarchy:
    """A mounted v1 hierarchy: where it is mounted and which cgroup its root shows."""

    __slots__ = ("mountpoint", "mount_root")

    def __init__(self, mountpoint: str, mount_root: str = "/"):
        self.mountpoint = mountpoint
        # "/" unless the mount shows a sub-tree (a bind mount, a cgroup namespace)
        self.mount_root = mount_root

    def __repr__(self) -> str:
        return f"Hierarchy({self.mountpoint!r}, {self.mount_root!r})"

    def directory(self, cgroup: str) -> str:
        """The directory of cgroup path `cgroup` (absolute and clean) inside this mount."""
        shown = self.mount_root.rstrip("/")
        if cgroup.rstrip("/") == shown:
            return self.mountpoint
        if not cgroup.startswith(shown + "/"):
            raise CgroupError(
                f"cgroup {cgroup} is outside the part of the hierarchy mounted at "
                f"{self.mountpoint} (which shows {self.mount_root}); pass an explicit parent")
        return self.mountpoint + cgroup[len(shown):]


# Reading mountinfo costs ~1.5 ms of kernel time on a host with 500 mounts (a busy
# test machine), and the spawner would pay it for every container. It keeps what it
# read for as long as the same hierarchies are mounted at the same places: the
# entries of the cgroup root and, per hierarchy, the device and inode of its
# mountpoint (which name the hierarchy and the cgroup its mount shows) must not
# have changed. (Only for the real /proc/self/mountinfo; tests pass other files.)
_cache: dict[str, tuple[tuple, dict[str, Hierarchy]]] = {}


def v1_hierarchies(root: str = "/sys/fs/cgroup",
                   mountinfo: str = "/proc/self/mountinfo") -> dict[str, Hierarchy]:
    """The mounted v1 hierarchies below `root`, by controller name.

    Read from mountinfo rather than guessed from directory names: co-mounted
    controllers (`cpu,cpuacct`) share one hierarchy, and in a container the mount
    may show only a sub-tree of it (the mount's root field).
    """
    if mountinfo != "/proc/self/mountinfo":
        return _read_v1_hierarchies(root, mountinfo)
    cached = _cache.get(root)
    if cached is not None and cached[0] == _fingerprint(root, cached[1]):
        return dict(cached[1])
    found = _read_v1_hierarchies(root, mountinfo)
    fingerprint = _fingerprint(root, found)
    if fingerprint is not None:
        _cache[root] = (fingerprint, found)
    return dict(found)


def _fingerprint(root: str, found: dict[str, Hierarchy]) -> tuple | None:
    try:
        mounts = [(h.mountpoint, os.stat(h.mountpoint)) for h in found.values()]
        return (tuple(sorted(os.listdir(root))),
                tuple((path, st.st_dev, st.st_ino) for path, st in mounts))
    except OSError:
        return None


def _read_v1_hierarchies(root: str, mountinfo: str) -> dict[str, Hierarchy]:
    found: dict[str, Hierarchy] = {}
    try:
        with open(mountinfo) as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise CgroupError(f"cannot read {mountinfo}: {exc.strerror}") from exc
    prefix = os.path.normpath(root) + os.sep
    for line in lines:
        if " - cgroup " not in line:
            continue  # not a v1 hierarchy (most lines): skip the parsing
        fields, _, tail = line.partition(" - ")
        parts, tail_parts = fields.split(), tail.split()
        if len(tail_parts) < 3 or tail_parts[0] != "cgroup":
            continue
        mount_root, mountpoint = _unescape(parts[3]), _unescape(parts[4])
        if not mountpoint.startswith(prefix):
            continue
        for option in tail_parts[2].split(","):
            if option in V1_CONTROLLERS and option not in found:
                found[option] = Hierarchy(mountpoint, mount_root)
    return found


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    return field.encode().decode("unicode_escape") if "\\" in field else field


def below(parent: str, path: str) -> str:
    """The cgroup path `path` (absolute or relative) placed below `parent`.

    `..` components are resolved as if `parent` were the root, so they cannot
    climb out of it. An empty result (the parent itself) is refused: a container
    never shares its parent's cgroup.
    """
    inside = clean(path).lstrip("/")
    if not inside:
        raise CgroupError(f"cgroup path {path!r} names the parent {parent} itself; "
                          "give the container a cgroup of its own")
    return posixpath.join(clean(parent), inside)


def clean(path: str) -> str:
    """`path` as an absolute cgroup path with `.`, `..` and doubled slashes resolved."""
    # normpath keeps a leading "//" (POSIX leaves its meaning open), hence the lstrip.
    return "/" + posixpath.normpath("/" + path).lstrip("/")
