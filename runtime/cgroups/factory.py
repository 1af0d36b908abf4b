"""Pick and build the cgroup driver for this machine.

`detect_mode` tells the three layouts apart (unified: cgroup2 only; hybrid: v1
controllers plus an empty cgroup2 at /sys/fs/cgroup/unified; legacy: v1 only).
`new_manager` places a container's cgroup below its parent (see `paths.py`) and
returns the v2 driver on a unified machine, the v1 driver otherwise: in hybrid
mode the cgroup2 hierarchy holds no controllers, so v1 is where limits work.
`from_paths` reopens a cgroup from the `paths()` saved in a container's state.

Drivers are imported only when chosen, so `superc` loads one of them.
"""

from __future__ import annotations

import os
import posixpath

from .base import CgroupError, Manager
from .paths import HYBRID, LEGACY, UNIFIED, below, clean, detect_mode, own_cgroups, v1_hierarchies

__all__ = ["HYBRID", "LEGACY", "UNIFIED", "detect_mode", "from_paths", "new_manager"]


def new_manager(path: str, parent: str | None = None, root: str = "/sys/fs/cgroup", *,
                mode: str | None = None, proc_cgroup: str = "/proc/self/cgroup",
                mountinfo: str = "/proc/self/mountinfo") -> Manager:
    """A manager for the cgroup `path` (a cgroupsPath or a container ID).

    `parent` is a cgroup path (like `/supernetes/pods`) the cgroup goes below in
    every hierarchy; by default it is the caller's own cgroup, read per hierarchy
    from `proc_cgroup`. Nothing is created until `create()`.
    """
    if not path:
        raise CgroupError("empty cgroup path")
    mode = mode or detect_mode(root)
    own = own_cgroups(proc_cgroup)
    if mode == UNIFIED:
        from .v2 import SUPERVISOR_LEAF, V2Manager

        if parent is not None:
            parent_cgroup = clean(parent)
        else:
            parent_cgroup = clean(own.get("", "/"))
            # A caller that already stepped aside into its leaf (see v2/manager.py)
            # still places containers next to that leaf, not inside it.
            if posixpath.basename(parent_cgroup) == SUPERVISOR_LEAF:
                parent_cgroup = posixpath.dirname(parent_cgroup)
        return V2Manager(_under(root, below(parent_cgroup, path)),
                         parent=_under(root, parent_cgroup),
                         caller=parent is None)
    if mode not in (HYBRID, LEGACY):
        raise CgroupError(f"unknown cgroup mode {mode!r}")

    from .v1.manager import V1Manager

    hierarchies = v1_hierarchies(root, mountinfo)
    if not hierarchies:
        raise CgroupError(f"no cgroup v1 controller is mounted below {root}")
    dirs, parents = {}, {}
    for name, hierarchy in hierarchies.items():
        parent_cgroup = clean(parent) if parent is not None else clean(own.get(name, "/"))
        parents[name] = hierarchy.directory(parent_cgroup)
        dirs[name] = hierarchy.directory(below(parent_cgroup, path))
    return V1Manager(dirs, parents)


def from_paths(paths: dict[str, str], parents: dict[str, str] | None = None) -> Manager:
    """Reopen the cgroup whose `Manager.paths()` (and `parents()`) were saved."""
    if not paths:
        raise CgroupError("no cgroup paths saved")
    if "" in paths:
        from .v2 import V2Manager

        return V2Manager(paths[""], parent=(parents or {}).get(""))

    from .v1.manager import V1Manager

    return V1Manager(paths, parents)


def _under(root: str, cgroup: str) -> str:
    return os.path.join(root, cgroup.lstrip("/")) if cgroup != "/" else root
