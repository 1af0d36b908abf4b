"""v1 cpuset controller: which CPUs and memory nodes the container may use.

Written directly: cgroupspy's cpuset accessor only takes sets of integers and
cannot pass through a kernel list such as "0-3,8".

Kernel quirk: a new v1 cpuset cgroup starts with *empty* `cpuset.cpus` and
`cpuset.mems`, and a process cannot join a cgroup with no CPUs (ENOSPC). Each
directory we make therefore inherits its parent's values before anything else
(runc does the same; `cgroup.clone_children` on the parent would do it too, but
the parent is not ours to change).
"""

from __future__ import annotations

import os

from .. import fs
from ..base import Resources
from .controller import Controller


class Cpuset(Controller):
    name = "cpuset"

    def create(self, directory: str, made: list[str]) -> None:
        for child in made:
            parent = os.path.dirname(child)
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not fs.read(child, name):
                    fs.write(child, name, fs.read(parent, name))

    def wants(self, resources: Resources) -> bool:
        return resources.cpuset_cpus is not None or resources.cpuset_mems is not None

    def apply(self, directory: str, resources: Resources) -> None:
        if resources.cpuset_cpus is not None:
            fs.write(directory, "cpuset.cpus", resources.cpuset_cpus)
        if resources.cpuset_mems is not None:
            fs.write(directory, "cpuset.mems", resources.cpuset_mems)
