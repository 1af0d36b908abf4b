"""The one interface every cgroup driver implements, and the plain types it speaks.

The runtime converts an OCI `linux.resources` block into a `Resources` once and
hands it to a `Manager`; it never writes a cgroup file itself. Two drivers
implement `Manager`: `v1` (one directory per controller hierarchy, the hybrid and
legacy layouts) and `v2` (one unified directory). `factory.new_manager` picks one.

Paths: a manager is created for a cgroup path *relative to a parent*. By default
the parent is the calling process's own cgroup (read from /proc/self/cgroup, per
controller on v1), so containers nest below whoever runs them and nothing is ever
moved out of its cgroup; an explicit parent (`--cgroup-root`) overrides that.

Every file a driver writes goes through `explain.step` so `superc --explain` shows
it with its value.

Errors: every driver failure is a `CgroupError` (a `RuntimeError`), wrapping the
`OSError` that caused it.
"""

from __future__ import annotations

import abc
import os
import signal
from dataclasses import dataclass, field


class CgroupError(RuntimeError):
    """A cgroup could not be created, configured, read or removed."""


@dataclass
class DeviceRule:
    """One device cgroup rule, as in OCI `linux.resources.devices[]`."""

    allow: bool
    type: str = "a"  # "a" (all), "c" (char) or "b" (block)
    major: int | None = None  # None means any (`*`)
    minor: int | None = None
    access: str = "rwm"


@dataclass
class Resources:
    """Resource limits in the units OCI uses. None means "leave as is"."""

    memory_limit: int | None = None  # bytes; -1 = unlimited
    memory_reservation: int | None = None  # bytes (v1 soft limit, v2 memory.low)
    memory_swap: int | None = None  # memory + swap in bytes (OCI semantics); -1 = unlimited
    cpu_shares: int | None = None  # v1 cpu.shares; converted to cpu.weight on v2
    cpu_quota: int | None = None  # microseconds per period; -1 = unlimited
    cpu_period: int | None = None  # microseconds
    cpuset_cpus: str | None = None  # "0-1"
    cpuset_mems: str | None = None
    pids_limit: int | None = None  # -1 (or 0, as runc reads it) = unlimited
    devices: list[DeviceRule] | None = None


@dataclass
class Stats:
    """What the agent's metrics read. Counters are cumulative since creation."""

    memory_usage: int = 0  # bytes, current
    memory_max_usage: int | None = None  # bytes, peak (where the kernel keeps it)
    memory_limit: int | None = None  # bytes; None = unlimited
    cpu_usage_ns: int = 0
    cpu_user_ns: int = 0
    cpu_system_ns: int = 0
    cpu_throttled_periods: int = 0
    cpu_throttled_ns: int = 0
    pids_current: int = 0
    pids_limit: int | None = None
    oom_kills: int = 0  # processes the kernel OOM-killed in this cgroup
    extra: dict[str, int] = field(default_factory=dict)


class Manager(abc.ABC):
    """One container's cgroup (one directory per hierarchy on v1, one on v2)."""

    version: int  # 1 or 2

    @abc.abstractmethod
    def create(self) -> None:
        """Make the cgroup directories (and enable controllers on v2)."""

    @abc.abstractmethod
    def add(self, pid: int) -> None:
        """Move process `pid` into the cgroup (every hierarchy on v1)."""

    @abc.abstractmethod
    def set(self, resources: Resources) -> None:
        """Apply limits; fields left as None are not touched."""

    @abc.abstractmethod
    def stats(self) -> Stats: ...

    @abc.abstractmethod
    def freeze(self) -> None:
        """Freeze every process of the cgroup; returns once they are frozen."""

    @abc.abstractmethod
    def thaw(self) -> None: ...

    @abc.abstractmethod
    def frozen(self) -> bool: ...

    @abc.abstractmethod
    def pids(self) -> list[int]:
        """Every process in the cgroup, descendants included."""

    @abc.abstractmethod
    def exists(self) -> bool: ...

    @abc.abstractmethod
    def destroy(self) -> None:
        """Remove the directories (waits briefly for dying processes to leave)."""

    @abc.abstractmethod
    def paths(self) -> dict[str, str]:
        """Absolute directories by controller name ("" for the v2 unified dir).

        Saved in the container's state so `exec`, `update` and `delete` reopen the
        very same cgroup (`factory.from_paths`), and so `exec` can join it.
        """

    # Added after the first version of this interface; concrete, so every
    # driver (and any test double) keeps working without them.

    def parents(self) -> dict[str, str]:
        """The directory each cgroup was placed below, keyed like `paths()`.

        `destroy()` also removes the empty directories between a cgroup and its
        parent (those a nested cgroupsPath like `pods/web/c1` made). Save it next
        to `paths()` and pass both to `factory.from_paths` to keep that behaviour
        after reopening; without it, only the cgroup itself is removed.
        """
        return {}

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to every process in the cgroup (`kill --all`, `delete -f`)."""
        for pid in self.pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass  # already gone
