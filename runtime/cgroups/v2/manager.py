"""The v2 `Manager`: one directory in the unified hierarchy, plain file writes.

Creating a cgroup on v2 is more than mkdir: a controller works in a cgroup only
if its parent lists it in `cgroup.subtree_control`, so every level from the
parent down to the new cgroup hands the controllers on ("+cpu +memory ...").

The no-internal-processes rule: a non-root cgroup that holds processes cannot
hand domain controllers (memory, cpu, io...) to its children; the kernel refuses
the write with EBUSY. By default the parent is the caller's *own* cgroup, which
holds at least the caller. We handle it the way systemd's `Delegate=` services
do: when the caller is alone in that cgroup (the agent as a systemd service, a
test runner in a scope of its own), it moves itself down into a leaf child,
`superc-supervisor`, and the emptied cgroup can then delegate. The caller only
ever moves *below* the cgroup it was given, never out of it, and never moves
anyone else. If other processes share the cgroup (a login shell's scope, say),
or an explicit parent holds processes, creation fails with one line saying what
to do: pass `--cgroup-root` naming a cgroup without processes. The root cgroup
is exempt from the rule (it is told apart by having no `cgroup.type`).

Freezing writes `cgroup.freeze` and waits for the kernel to report `frozen 1` in
`cgroup.events`; killing uses `cgroup.kill` (Linux 5.14+) where it exists.
"""

from __future__ import annotations

import os
import time

from .. import fs
from ..base import SIGKILL, CgroupError, Manager, Resources, Stats
from . import resources

# Controllers handed down to containers when the parent offers them.
WANTED = ("cpuset", "cpu", "io", "memory", "pids", "hugetlb")

# The leaf a lone caller moves itself into; factory.py knows the name too, so a
# caller that already stepped aside keeps using the cgroup above it as parent.
SUPERVISOR_LEAF = "superc-supervisor"

EXIT_GRACE = 2.0  # seconds destroy() waits for dying processes
FREEZE_TIMEOUT = 10.0  # seconds; software-emulated VMs are slow to stop tasks


class V2Manager(Manager):
    version = 2

    def __init__(self, directory: str, parent: str | None = None, caller: bool = False):
        """`directory` of the cgroup; `parent` the directory it goes below (default:
        its dirname); `caller`: the parent is the calling process's own cgroup, so
        the caller may step aside into a leaf to let the parent delegate."""
        self._dir = os.path.normpath(directory)
        self._parent = os.path.normpath(parent) if parent else os.path.dirname(self._dir)
        if not self._dir.startswith(self._parent + os.sep):
            raise CgroupError(f"cgroup {self._dir} is not below its parent {self._parent}")
        self._caller = caller

    def __repr__(self) -> str:
        return f"V2Manager({self._dir!r})"

    # -- creation and delegation --------------------------------------------------

    def create(self) -> None:
        levels = []
        current = self._dir
        while current != self._parent:
            levels.append(current)
            current = os.path.dirname(current)
        made: list[str] = []
        try:
            self._delegate(self._parent)
            for level in reversed(levels):
                made.extend(fs.makedirs(level))
                if level != self._dir:
                    self._delegate(level)
        except CgroupError:
            for directory in reversed(made):
                try:
                    os.rmdir(directory)
                except OSError:
                    pass
            raise

    def _delegate(self, directory: str) -> None:
        """Enable the wanted controllers that `directory` offers for its children."""
        offered = fs.read(directory, "cgroup.controllers").split()
        enabled = fs.read(directory, "cgroup.subtree_control").split()
        missing = [c for c in WANTED if c in offered and c not in enabled]
        if not missing:
            return
        is_root = not fs.exists(directory, "cgroup.type")
        if not is_root:
            inside = fs.procs(directory, recursive=False)
            if inside:
                self._step_aside(directory, inside)
        try:
            fs.write(directory, "cgroup.subtree_control", " ".join("+" + c for c in missing))
        except CgroupError:
            # One refusal fails the whole write (e.g. cpu with realtime tasks under
            # CONFIG_RT_GROUP_SCHED). Hand down what can be; a limit that needs a
            # missing controller then fails in set(), naming it.
            enabled_any = False
            for controller in missing:
                try:
                    fs.write(directory, "cgroup.subtree_control", "+" + controller)
                    enabled_any = True
                except CgroupError:
                    continue
            if not enabled_any:
                raise

    def _step_aside(self, directory: str, inside: list[int]) -> None:
        if self._caller and directory == self._parent and inside == [os.getpid()]:
            leaf = os.path.join(directory, SUPERVISOR_LEAF)
            fs.makedirs(leaf)
            fs.write(leaf, "cgroup.procs", os.getpid())
            return
        raise CgroupError(
            f"cannot create cgroups below {directory}: it holds processes {inside}, and on "
            "cgroup v2 a cgroup with processes cannot hand controllers to children; pass "
            "--cgroup-root naming a cgroup without processes (or run the caller alone in "
            "its cgroup, as a systemd service with Delegate=yes)")

    # -- membership and limits ----------------------------------------------------

    def add(self, pid: int) -> None:
        fs.write(self._dir, "cgroup.procs", pid)

    def set(self, resources_: Resources) -> None:
        resources.apply(self._dir, resources_)

    def stats(self) -> Stats:
        d = self._dir
        stats = Stats()
        if fs.exists(d, "memory.current"):
            stats.memory_usage = fs.read_int(d, "memory.current")
            if fs.exists(d, "memory.peak"):
                stats.memory_max_usage = fs.read_int(d, "memory.peak")
            limit = fs.read_int(d, "memory.max")
            stats.memory_limit = None if limit < 0 else limit
            events = fs.read_keyed(d, "memory.events")
            stats.oom_kills = events.get("oom_kill", 0)
            stats.extra["memory_oom_events"] = events.get("oom", 0)
            detail = fs.read_keyed(d, "memory.stat")
            stats.extra["memory_anon"] = detail.get("anon", 0)
            stats.extra["memory_file"] = detail.get("file", 0)
            stats.extra["memory_inactive_file"] = detail.get("inactive_file", 0)
            stats.extra["memory_pgfault"] = detail.get("pgfault", 0)
            stats.extra["memory_pgmajfault"] = detail.get("pgmajfault", 0)
        # cpu.stat exists in every cgroup; the throttling lines only with the cpu controller.
        cpu = fs.read_keyed(d, "cpu.stat")
        stats.cpu_usage_ns = cpu.get("usage_usec", 0) * 1000
        stats.cpu_user_ns = cpu.get("user_usec", 0) * 1000
        stats.cpu_system_ns = cpu.get("system_usec", 0) * 1000
        stats.cpu_throttled_periods = cpu.get("nr_throttled", 0)
        stats.cpu_throttled_ns = cpu.get("throttled_usec", 0) * 1000
        stats.extra["cpu_periods"] = cpu.get("nr_periods", 0)
        if fs.exists(d, "pids.current"):
            stats.pids_current = fs.read_int(d, "pids.current")
            limit = fs.read_int(d, "pids.max")
            stats.pids_limit = None if limit < 0 else limit
            stats.extra["pids_fork_refused"] = fs.read_keyed(d, "pids.events").get("max", 0)
        else:
            stats.pids_current = len(self.pids())
        return stats

    def oom_kills(self) -> int:
        if not fs.exists(self._dir, "memory.events"):
            return 0
        return fs.read_keyed(self._dir, "memory.events").get("oom_kill", 0)

    # -- freezing -----------------------------------------------------------------

    def freeze(self) -> None:
        fs.write(self._dir, "cgroup.freeze", 1)
        if not self._wait_event("frozen", 1, FREEZE_TIMEOUT):
            fs.write(self._dir, "cgroup.freeze", 0)
            raise CgroupError(f"freeze {self._dir}: processes did not stop within "
                              f"{FREEZE_TIMEOUT:g}s; thawed them again")

    def thaw(self) -> None:
        fs.write(self._dir, "cgroup.freeze", 0)
        if not self._wait_event("frozen", 0, FREEZE_TIMEOUT):
            raise CgroupError(f"thaw {self._dir}: still frozen after {FREEZE_TIMEOUT:g}s")

    def frozen(self) -> bool:
        if not os.path.isdir(self._dir):
            return False
        return fs.read_keyed(self._dir, "cgroup.events").get("frozen", 0) == 1

    def _wait_event(self, key: str, value: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        delay = 0.001
        while fs.read_keyed(self._dir, "cgroup.events").get(key) != value:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True

    # -- processes and teardown ---------------------------------------------------

    def pids(self) -> list[int]:
        return fs.procs(self._dir) if os.path.isdir(self._dir) else []

    def kill(self, sig: int = SIGKILL) -> None:
        if sig == SIGKILL and fs.exists(self._dir, "cgroup.kill"):
            # One write kills the whole subtree, race-free against forks.
            fs.write(self._dir, "cgroup.kill", 1)
            return
        frozen_here = False
        if os.path.isdir(self._dir) and not self.frozen():
            self.freeze()  # so nothing forks between listing and signalling
            frozen_here = True
        try:
            super().kill(sig)
        finally:
            if frozen_here:
                self.thaw()

    def exists(self) -> bool:
        return os.path.isdir(self._dir)

    def destroy(self) -> None:
        # An exited container's cgroup goes with one rmdir; a busy one is waited for
        # (dying processes) and walked (child cgroups).
        if not fs.rmdir_if_empty(self._dir):
            left = fs.wait_until_empty([self._dir], EXIT_GRACE)
            if left:
                raise CgroupError(f"cannot remove {self._dir}: processes {left} are still "
                                  "running in it (kill them first)")
            fs.remove_tree(self._dir)
        fs.prune_empty(self._dir, self._parent)

    def paths(self) -> dict[str, str]:
        return {"": self._dir}

    def parents(self) -> dict[str, str]:
        return {"": self._parent}
