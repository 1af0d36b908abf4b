"""v1 pids controller: the fork-bomb stop (`pids.max`) and the task count.

Written directly: cgroupspy has no pids controller.
"""

from __future__ import annotations

from .. import fs
from ..base import Resources, Stats
from .controller import Controller


def pids_max(limit: int) -> str:
    """OCI's pids limit as the kernel spells it: -1 and 0 (as runc reads it) are "max"."""
    return str(limit) if limit > 0 else "max"


class Pids(Controller):
    name = "pids"

    def wants(self, resources: Resources) -> bool:
        return resources.pids_limit is not None

    def apply(self, directory: str, resources: Resources) -> None:
        if resources.pids_limit is not None:
            fs.write(directory, "pids.max", pids_max(resources.pids_limit))

    def stats(self, directory: str, stats: Stats) -> None:
        stats.pids_current = fs.read_int(directory, "pids.current")
        limit = fs.read_int(directory, "pids.max")
        stats.pids_limit = None if limit < 0 else limit
        if fs.exists(directory, "pids.events"):
            stats.extra["pids_fork_refused"] = fs.read_keyed(directory, "pids.events").get("max", 0)
