"""v1 cpu and cpuacct controllers: shares, CFS quota/period, throttling, CPU time.

`cpu.shares`, `cpu.cfs_*` and `cpu.stat` go through cgroupspy's `CpuController`;
cpuacct's per-mode counters (`cpuacct.usage_user`, `cpuacct.usage_sys`, in ns)
are newer than cgroupspy, so they are read directly, falling back to
`cpuacct.stat` (in clock ticks) on kernels without them.

Kernel quirk: the kernel checks quota against period on every write
(quota/period may not exceed what the parent allows, and the period must be
1 ms..1 s), so setting both can fail in one order and succeed in the other; the
period is written first and, if the kernel refuses it, the quota first (runc does
the same).
"""

from __future__ import annotations

import errno
import os

from .. import fs
from ..base import CgroupError, Resources, Stats
from .controller import Controller, node, traced


def _cpu(directory: str):
    from cgroupspy.controllers import CpuController  # when first needed (controller.py)

    return traced(CpuController)(node(directory))


def _cpuacct(directory: str):
    from cgroupspy.controllers import CpuAcctController

    return traced(CpuAcctController)(node(directory))


class Cpu(Controller):
    name = "cpu"

    def wants(self, resources: Resources) -> bool:
        return any(v is not None for v in (resources.cpu_shares, resources.cpu_quota,
                                           resources.cpu_period))

    def apply(self, directory: str, resources: Resources) -> None:
        spy = _cpu(directory)
        if resources.cpu_shares is not None:
            spy.shares = resources.cpu_shares
        period, quota = resources.cpu_period, resources.cpu_quota
        if period is None:
            if quota is not None:
                spy.cfs_quota_us = quota
            return
        try:
            spy.cfs_period_us = period
        except CgroupError as exc:
            cause = exc.__cause__
            if quota is None or not isinstance(cause, OSError) or cause.errno != errno.EINVAL:
                raise
            spy.cfs_quota_us = quota
            spy.cfs_period_us = period
            return
        if quota is not None:
            spy.cfs_quota_us = quota

    def stats(self, directory: str, stats: Stats) -> None:
        throttling = _cpu(directory).stat
        stats.cpu_throttled_periods = throttling.get("nr_throttled", 0)
        stats.cpu_throttled_ns = throttling.get("throttled_time", 0)
        stats.extra["cpu_periods"] = throttling.get("nr_periods", 0)


class CpuAcct(Controller):
    name = "cpuacct"

    def stats(self, directory: str, stats: Stats) -> None:
        stats.cpu_usage_ns = _cpuacct(directory).usage or 0
        if fs.exists(directory, "cpuacct.usage_user"):
            stats.cpu_user_ns = fs.read_int(directory, "cpuacct.usage_user")
            stats.cpu_system_ns = fs.read_int(directory, "cpuacct.usage_sys")
        else:
            ticks = _cpuacct(directory).acct_stat
            ns_per_tick = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
            stats.cpu_user_ns = ticks.get("user", 0) * ns_per_tick
            stats.cpu_system_ns = ticks.get("system", 0) * ns_per_tick
