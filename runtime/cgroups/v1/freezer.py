"""v1 freezer controller: stop and resume every process of the cgroup.

Written directly: cgroupspy has no freezer controller.

Kernel quirk: writing FROZEN starts freezing; `freezer.state` reads FREEZING until
every task has stopped, and a task stuck in an uninterruptible sleep (or in the
middle of a vfork) can keep it there. We poll, re-write FROZEN now and then to
push stragglers (runc does the same), and give up after `timeout`, thawing again
so the container is never left half-frozen.
"""

from __future__ import annotations

import time

from .. import fs
from ..base import CgroupError
from .controller import Controller

STATE = "freezer.state"


class Freezer(Controller):
    name = "freezer"

    def freeze(self, directory: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:
            if attempt % 50 == 0:
                fs.write(directory, STATE, "FROZEN")
            if fs.read(directory, STATE) == "FROZEN":
                return
            if time.monotonic() >= deadline:
                fs.write(directory, STATE, "THAWED")
                raise CgroupError(f"freeze {directory}: processes did not stop within "
                                  f"{timeout:g}s; thawed them again")
            attempt += 1
            time.sleep(0.002)

    def thaw(self, directory: str) -> None:
        fs.write(directory, STATE, "THAWED")

    def frozen(self, directory: str) -> bool:
        return fs.read(directory, STATE) == "FROZEN"
