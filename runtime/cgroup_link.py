"""Where the container lifecycle meets the cgroup drivers.

The lifecycle code never picks a driver or a path itself; it asks here. A
container's cgroup is the config's `cgroupsPath` when there is one, else
`superc-<id>`, in both cases *below* a parent: the caller's own cgroup by default,
or `--cgroup-root`. The paths the driver chose are saved in the state, and every
later command (exec, update, pause, ps, delete, the monitor) reopens exactly that
cgroup from them.
"""

from __future__ import annotations

from .cgroups import factory
from .cgroups.base import CgroupError, Manager
from .config import Config


def new_manager(config: Config, cgroup_root: str | None) -> Manager:
    return factory.new_manager(config.cgroups_path or f"superc-{config.id}", parent=cgroup_root)


def load(data: dict) -> Manager | None:
    """The manager saved in a container's state, or None if it never got one."""
    paths = data.get("cgroup_paths")
    if not paths:
        return None
    return factory.from_paths(paths, data.get("cgroup_parents"))


def is_frozen(paths: dict[str, str]) -> bool:
    try:
        return factory.from_paths(paths).frozen()
    except CgroupError:
        return False
