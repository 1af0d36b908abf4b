"""The v1 `Manager`: one directory per mounted hierarchy, one module per controller.

A container's cgroup on v1 is a set of directories with the same relative name,
one in each hierarchy (`/sys/fs/cgroup/memory/<parent>/<path>`,
`/sys/fs/cgroup/pids/<parent>/<path>`, ...), where each hierarchy's parent may
differ: the caller's own cgroup is read per controller from /proc/self/cgroup.
Co-mounted controllers (`cpu,cpuacct`) share a directory; it is made, joined and
removed once.

Every hierarchy that is mounted is joined, even when no limit is set for it, so
that accounting (CPU time, memory, pids) and freezing cover the whole container.
"""

from __future__ import annotations

import os

from .. import fs
from ..base import SIGKILL, CgroupError, Manager, Resources, Stats
from .blkio import Blkio
from .controller import Controller
from .cpu import Cpu, CpuAcct
from .cpuset import Cpuset
from .devices import Devices
from .freezer import Freezer
from .memory import Memory
from .pids import Pids

CONTROLLERS: dict[str, Controller] = {
    c.name: c for c in (Cpuset(), Cpu(), CpuAcct(), Memory(), Pids(), Devices(), Freezer(),
                        Blkio())
}

# How long destroy() waits for processes that were just killed to leave.
EXIT_GRACE = 2.0


class V1Manager(Manager):
    version = 1

    def __init__(self, dirs: dict[str, str], parents: dict[str, str] | None = None):
        """`dirs`: the cgroup's directory per controller; `parents`: the directory
        per controller it was placed below (empty ancestors up to there are removed
        with it; unknown when reopened from saved `paths()` alone)."""
        unknown = set(dirs) - set(CONTROLLERS)
        if unknown:
            raise CgroupError(f"unknown v1 controllers: {', '.join(sorted(unknown))}")
        self._dirs = dict(dirs)
        self._parents = dict(parents or {})

    def __repr__(self) -> str:
        return f"V1Manager({self._dirs!r})"

    def _unique(self) -> list[str]:
        return list(dict.fromkeys(self._dirs.values()))

    def _controllers_at(self, directory: str) -> list[Controller]:
        return [CONTROLLERS[name] for name, d in self._dirs.items() if d == directory]

    def create(self) -> None:
        made_all: list[str] = []
        try:
            for directory in self._unique():
                made = fs.makedirs(directory)
                made_all.extend(made)
                for controller in self._controllers_at(directory):
                    controller.create(directory, made)
        except CgroupError:
            # Leave nothing of a half-made cgroup behind.
            for directory in reversed(made_all):
                try:
                    os.rmdir(directory)
                except OSError:
                    pass
            raise

    def add(self, pid: int) -> None:
        for directory in self._unique():
            fs.write(directory, "cgroup.procs", pid)

    # Moving a process through `cgroup.procs` takes the kernel's global
    # cgroup_threadgroup_rwsem for writing, and its first writer waits for an RCU
    # grace period: 8-15 ms on these machines, the largest single cost of starting
    # a container (runc pays it too). A thread that moves *itself* through the
    # thread-level `tasks` file (writing "0") needs no such lock, since it cannot
    # exit or exec meanwhile (Linux 5.5, "cgroup: Optimize single thread
    # migration"): 0.3 ms for all eight hierarchies. In a single-threaded process
    # that thread is the whole process, which is what a container's init is.
    cheap_join = True

    def join(self) -> None:
        for directory in self._unique():
            fs.write(directory, "tasks", 0)

    def set(self, resources: Resources) -> None:
        for name, controller in CONTROLLERS.items():
            if not controller.wants(resources):
                continue
            if name not in self._dirs:
                raise CgroupError(f"{name} limits were asked for, but no {name} cgroup "
                                  "hierarchy is mounted")
            controller.apply(self._dirs[name], resources)

    def stats(self) -> Stats:
        stats = Stats()
        for name, directory in self._dirs.items():
            CONTROLLERS[name].stats(directory, stats)
        return stats

    def oom_kills(self) -> int:
        if "memory" not in self._dirs:
            return 0
        return fs.read_keyed(self._dirs["memory"], "memory.oom_control").get("oom_kill", 0)

    def _freezer(self) -> tuple[Freezer, str]:
        if "freezer" not in self._dirs:
            raise CgroupError("freezing needs the freezer cgroup hierarchy, which is not mounted")
        freezer = CONTROLLERS["freezer"]
        assert isinstance(freezer, Freezer)
        return freezer, self._dirs["freezer"]

    def freeze(self) -> None:
        freezer, directory = self._freezer()
        freezer.freeze(directory)

    def thaw(self) -> None:
        freezer, directory = self._freezer()
        freezer.thaw(directory)

    def frozen(self) -> bool:
        if "freezer" not in self._dirs or not os.path.isdir(self._dirs["freezer"]):
            return False
        freezer, directory = self._freezer()
        return freezer.frozen(directory)

    def pids(self) -> list[int]:
        found: set[int] = set()
        for directory in self._unique():
            if os.path.isdir(directory):
                found.update(fs.procs(directory))
        return sorted(found)

    def kill(self, sig: int = SIGKILL) -> None:
        # Frozen first, so nothing forks a new process between listing and signalling
        # (a container that was paused stays paused for signals other than SIGKILL).
        can_freeze = "freezer" in self._dirs and os.path.isdir(self._dirs["freezer"])
        freeze_here = can_freeze and not self.frozen()
        if freeze_here:
            self.freeze()
        try:
            super().kill(sig)
        finally:
            if freeze_here:
                self.thaw()

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self._unique())

    def destroy(self) -> None:
        # Only directories that still hold processes (dying ones) or child cgroups are
        # waited for and walked; those of an exited container go with one rmdir each.
        busy = [d for d in self._unique() if not fs.rmdir_if_empty(d)]
        left = fs.wait_until_empty(busy, EXIT_GRACE)
        if left:
            raise CgroupError(f"cannot remove {self._unique()[0]} (and its siblings): "
                              f"processes {left} are still running in it (kill them first)")
        errors = []
        for directory in self._unique():
            try:
                if directory in busy:
                    fs.remove_tree(directory)
                stop = next((self._parents[n] for n, d in self._dirs.items()
                             if d == directory and n in self._parents), None)
                if stop:
                    fs.prune_empty(directory, stop)
            except CgroupError as exc:
                errors.append(exc)  # go on: remove as much as possible
        if errors:
            raise errors[0]

    def paths(self) -> dict[str, str]:
        return dict(self._dirs)

    def parents(self) -> dict[str, str]:
        return dict(self._parents)
