"""What every v1 controller module provides, and the bridge to cgroupspy.

A controller module knows one v1 hierarchy: how to prepare a freshly made
directory (`create`), which `Resources` fields it owns (`wants`), how to write
them (`apply`) and what it contributes to `Stats` (`stats`).

cgroupspy gives typed accessors for the older controllers (memory, cpu, cpuacct,
devices, blkio): integers with -1 for "unlimited", parsed `memory.stat` and
`cpu.stat` dictionaries. Its controllers read and write through two methods,
`get_property` and `set_property`; `Traced` overrides both so that every access
still goes through `fs` (the learner's trace, and `CgroupError` instead of a bare
OSError or cgroupspy's silent `None`). A controller binds to a directory through
`node()`, the one attribute cgroupspy needs from its tree nodes.

cgroupspy is imported where a controller first needs it, not with the driver: it
loads `collections`, ~2 ms of CPU on every `superc` start, and most commands
(and containers without memory or CPU limits) never need it. `traced()` makes
the traced subclass of a cgroupspy class then.
"""

from __future__ import annotations

import os

from .. import fs
from ..base import Resources, Stats


class Controller:
    """One v1 hierarchy's share of a container's cgroup."""

    name = ""

    def create(self, directory: str, made: list[str]) -> None:
        """Prepare the directories just made for this cgroup (topmost first)."""

    def wants(self, resources: Resources) -> bool:
        """Whether `resources` sets anything this controller owns."""
        return False

    def apply(self, directory: str, resources: Resources) -> None:
        """Write the fields of `resources` this controller owns."""

    def stats(self, directory: str, stats: Stats) -> None:
        """Fill in this controller's part of `stats`."""


class _Node:
    """The one attribute a cgroupspy controller needs from its tree node."""

    def __init__(self, directory: str):
        self.full_path = os.fsencode(directory)


def node(directory: str) -> _Node:
    return _Node(directory)


class Traced:
    """Mixin for cgroupspy controllers: route their file access through `fs`."""

    node: _Node

    def get_property(self, filename):
        return fs.read(self.node.full_path, filename)

    def set_property(self, filename, value):
        fs.write(self.node.full_path, filename, value)


_traced: dict[type, type] = {}


def traced(spy_class: type) -> type:
    """`spy_class`, a cgroupspy controller, with its file access routed through `fs`."""
    if spy_class not in _traced:
        class TracedSpy(Traced, spy_class):
            pass

        _traced[spy_class] = TracedSpy
    return _traced[spy_class]
