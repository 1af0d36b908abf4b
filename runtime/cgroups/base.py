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

SIGKILL = 9  # spelled out: `import signal` drags in enum, and superc starts lean


class CgroupError(RuntimeError):
    """A cgroup could not be created, configured, read or removed."""


class _Record:
    """Keyword construction, repr and equality for the plain records below.

    They were dataclasses; importing `dataclasses` costs superc ~7 ms of its
    start-up (it loads `inspect`), a quarter of what runc needs for a whole run.
    Same fields, same defaults, same keyword constructors.
    """

    __slots__ = ()
    _defaults: dict = {}

    def __init__(self, *args, **kwargs):
        names = list(self._defaults)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} arguments")
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in self._defaults:
                raise TypeError(f"{type(self).__name__} has no field {key!r}")
            if key in values:
                raise TypeError(f"{type(self).__name__} got {key!r} twice")
            values[key] = value
        for name, default in self._defaults.items():
            if name not in values:
                if default is _REQUIRED:
                    raise TypeError(f"{type(self).__name__} needs {name!r}")
                values[name] = default() if callable(default) else default
            setattr(self, name, values[name])

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._defaults)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._defaults)

    __hash__ = None  # mutable, like the dataclasses they replace


_REQUIRED = object()


class DeviceRule(_Record):
    """One device cgroup rule, as in OCI `linux.resources.devices[]`."""

    __slots__ = ("allow", "type", "major", "minor", "access")
    allow: bool
    type: str  # "a" (all), "c" (char) or "b" (block)
    major: int | None  # None means any (`*`)
    minor: int | None
    access: str  # any of "r", "w", "m"
    _defaults = {"allow": _REQUIRED, "type": "a", "major": None, "minor": None,
                 "access": "rwm"}


class Resources(_Record):
    """Resource limits in the units OCI uses. None means "leave as is"."""

    __slots__ = ("memory_limit", "memory_reservation", "memory_swap", "cpu_shares",
                 "cpu_quota", "cpu_period", "cpuset_cpus", "cpuset_mems", "pids_limit",
                 "devices")
    memory_limit: int | None  # bytes; -1 = unlimited
    memory_reservation: int | None  # bytes (v1 soft limit, v2 memory.low)
    memory_swap: int | None  # memory + swap in bytes (OCI semantics); -1 = unlimited
    cpu_shares: int | None  # v1 cpu.shares; converted to cpu.weight on v2
    cpu_quota: int | None  # microseconds per period; -1 = unlimited
    cpu_period: int | None  # microseconds
    cpuset_cpus: str | None  # "0-1"
    cpuset_mems: str | None
    pids_limit: int | None  # -1 (or 0, as runc reads it) = unlimited
    devices: list[DeviceRule] | None
    _defaults = dict.fromkeys(__slots__)


class Stats(_Record):
    """What the agent's metrics read. Counters are cumulative since creation."""

    __slots__ = ("memory_usage", "memory_max_usage", "memory_limit", "cpu_usage_ns",
                 "cpu_user_ns", "cpu_system_ns", "cpu_throttled_periods", "cpu_throttled_ns",
                 "pids_current", "pids_limit", "oom_kills", "extra")
    memory_usage: int  # bytes, current
    memory_max_usage: int | None  # bytes, peak (where the kernel keeps it)
    memory_limit: int | None  # bytes; None = unlimited
    cpu_usage_ns: int
    cpu_user_ns: int
    cpu_system_ns: int
    cpu_throttled_periods: int
    cpu_throttled_ns: int
    pids_current: int
    pids_limit: int | None
    oom_kills: int  # processes the kernel OOM-killed in this cgroup
    extra: dict[str, int]  # driver-specific counters (memory_rss, io_read_bytes, ...)
    _defaults = {"memory_usage": 0, "memory_max_usage": None, "memory_limit": None,
                 "cpu_usage_ns": 0, "cpu_user_ns": 0, "cpu_system_ns": 0,
                 "cpu_throttled_periods": 0, "cpu_throttled_ns": 0, "pids_current": 0,
                 "pids_limit": None, "oom_kills": 0, "extra": dict}


class Manager(abc.ABC):
    """One container's cgroup (one directory per hierarchy on v1, one on v2)."""

    version: int  # 1 or 2

    @abc.abstractmethod
    def create(self) -> None:
        """Make the cgroup directories (and enable controllers on v2)."""

    @abc.abstractmethod
    def add(self, pid: int) -> None:
        """Move process `pid` into the cgroup (every hierarchy on v1)."""

    # Whether `join()` avoids the cost of `add()` (see v1): then a new container's
    # init joins its cgroup itself, else its parent moves it from outside while
    # the init works (monitor.py).
    cheap_join = False

    def join(self) -> None:
        """Move the calling process, which must be single-threaded, into the cgroup."""
        self.add(os.getpid())

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

    def oom_kills(self) -> int:
        """`stats().oom_kills` alone: what a container's monitor asks when its init exits."""
        return self.stats().oom_kills

    def kill(self, sig: int = SIGKILL) -> None:
        """Send `sig` to every process in the cgroup (`kill --all`, `delete -f`)."""
        for pid in self.pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass  # already gone
