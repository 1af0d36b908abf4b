"""v1 memory controller: hard limit, soft limit, memory+swap limit, usage and OOM kills.

Uses cgroupspy's `MemoryController` (typed integers, the parsed `memory.stat` and
`memory.oom_control`) through the traced bridge in `controller.py`.

Kernel quirk: `memory.memsw.limit_in_bytes` (memory + swap) may never be below
`memory.limit_in_bytes`, and the kernel checks each write on its own, so the two
are written in whichever order keeps that true at every step (as runc does).
Unlimited reads back as a huge page-aligned number, not -1.
"""

from __future__ import annotations

from .. import fs
from ..base import CgroupError, Resources, Stats
from .controller import Controller, node, traced

UNLIMITED_ABOVE = 1 << 62  # the kernel reports "no limit" as PAGE_COUNTER_MAX pages


def _spy(directory: str):
    from cgroupspy.controllers import MemoryController  # when first needed (controller.py)

    return traced(MemoryController)(node(directory))


def limit_or_none(value: int | None) -> int | None:
    return None if value is None or value < 0 or value >= UNLIMITED_ABOVE else value


class Memory(Controller):
    name = "memory"

    def wants(self, resources: Resources) -> bool:
        return any(v is not None for v in (resources.memory_limit, resources.memory_swap,
                                           resources.memory_reservation))

    def apply(self, directory: str, resources: Resources) -> None:
        spy = _spy(directory)
        if resources.memory_reservation is not None:
            spy.soft_limit_in_bytes = resources.memory_reservation
        limit, swap = resources.memory_limit, resources.memory_swap
        if limit == -1 and swap is None:
            swap = -1  # lifting the memory limit lifts memory+swap too
        if swap is not None and not fs.exists(directory, "memory.memsw.limit_in_bytes"):
            if swap == -1:
                swap = None  # no swap accounting: nothing to lift
            else:
                raise CgroupError(f"{directory}: a memory+swap limit was asked for, but this "
                                  "kernel has no swap accounting (memory.memsw.*)")
        if limit is not None and swap is not None:
            current = spy.limit_in_bytes
            if swap == -1 or (current is not None and current < swap):
                spy.memsw_limit_in_bytes = swap
                spy.limit_in_bytes = limit
            else:
                spy.limit_in_bytes = limit
                spy.memsw_limit_in_bytes = swap
        elif limit is not None:
            spy.limit_in_bytes = limit
        elif swap is not None:
            spy.memsw_limit_in_bytes = swap

    def stats(self, directory: str, stats: Stats) -> None:
        spy = _spy(directory)
        stats.memory_usage = spy.usage_in_bytes or 0
        stats.memory_max_usage = spy.max_usage_in_bytes
        stats.memory_limit = limit_or_none(spy.limit_in_bytes)
        oom = spy.oom_control
        if isinstance(oom, dict):
            stats.oom_kills = oom.get("oom_kill", 0)
            stats.extra["memory_under_oom"] = oom.get("under_oom", 0)
        detail = spy.stat
        stats.extra["memory_rss"] = detail.get("total_rss", 0)
        stats.extra["memory_cache"] = detail.get("total_cache", 0)
        stats.extra["memory_failcnt"] = spy.failcnt or 0
        # What the kubelet's working set subtracts from the usage, and the fault counters
        # of its Summary API.
        stats.extra["memory_inactive_file"] = detail.get("total_inactive_file", 0)
        stats.extra["memory_pgfault"] = detail.get("total_pgfault", 0)
        stats.extra["memory_pgmajfault"] = detail.get("total_pgmajfault", 0)
