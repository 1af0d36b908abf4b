"""OCI resources in cgroup v2 terms: the unit conversions and the files they land in.

v2 renamed and re-scaled most knobs; the conversions are runc's, so a bundle gets
the same limits under `superc` as under `runc`:

| OCI (v1 units)            | v2 file           | conversion                                 |
|---------------------------|-------------------|--------------------------------------------|
| memory.limit              | memory.max        | bytes; -1 -> "max"                         |
| memory.reservation        | memory.low        | bytes (best-effort protection, not a cap)  |
| memory.swap (mem + swap)  | memory.swap.max   | swap alone = swap - limit; -1 -> "max"     |
| cpu.shares (2..262144)    | cpu.weight        | 1 + (shares - 2) * 9999 / 262142 (1..10000) |
| cpu.quota / cpu.period    | cpu.max           | "quota period"; quota -1 -> "max"          |
| cpu.cpus / cpu.mems       | cpuset.cpus/.mems | unchanged                                  |
| pids.limit                | pids.max          | -1 or 0 -> "max"                           |
| devices                   | (eBPF program)    | see devices.py                             |
"""

from __future__ import annotations

import os

from .. import fs
from ..base import CgroupError, Resources
from . import devices


def cpu_weight(shares: int) -> int:
    """runc's linear map of cpu.shares (2..262144) onto cpu.weight (1..10000)."""
    shares = min(max(shares, 2), 262144)
    return 1 + ((shares - 2) * 9999) // 262142


def swap_max(limit: int | None, swap: int) -> str:
    """memory.swap.max for OCI's memory+swap total `swap` under memory limit `limit`."""
    if swap == -1:
        return "max"
    if limit is None or limit < 0:
        raise CgroupError("a memory+swap limit needs a memory limit as well")
    if swap < limit:
        raise CgroupError(f"memory+swap limit {swap} is below the memory limit {limit}")
    return str(swap - limit)


def cpu_max(quota: int | None, period: int | None, current: str) -> str:
    """The new `cpu.max` line; a field left as None keeps its current value."""
    old_quota, _, old_period = current.partition(" ")
    quota_text = old_quota if quota is None else ("max" if quota < 0 else str(quota))
    period_text = (old_period or "100000") if period is None else str(period)
    return f"{quota_text} {period_text}"


def _limit(value: int) -> str:
    return "max" if value < 0 else str(value)


def apply(directory: str, resources: Resources) -> None:
    """Write every field of `resources` that is set; untouched fields stay as they are."""
    # A controller missing here was not delegated by the parent; say so rather
    # than fail on the missing file with ENOENT.
    available = set(fs.read(directory, "cgroup.controllers").split())

    def need(controller: str, what: str) -> None:
        if controller not in available:
            raise CgroupError(f"{directory}: {what} needs the {controller} controller, which "
                              f"{os.path.dirname(directory)} does not offer (its own parent "
                              "must enable it in cgroup.subtree_control)")

    r = resources
    if r.memory_limit is not None or r.memory_swap is not None or r.memory_reservation is not None:
        need("memory", "a memory limit")
        if r.memory_limit is not None:
            fs.write(directory, "memory.max", _limit(r.memory_limit))
        if r.memory_reservation is not None:
            fs.write(directory, "memory.low", max(r.memory_reservation, 0))
        if r.memory_swap is not None:
            limit = r.memory_limit
            if limit is None:
                limit = fs.read_int(directory, "memory.max")
            value = swap_max(limit, r.memory_swap)
            if fs.exists(directory, "memory.swap.max"):
                fs.write(directory, "memory.swap.max", value)
            elif value != "max" and int(value) > 0:
                raise CgroupError(f"{directory}: a swap limit was asked for, but this kernel "
                                  "has no swap accounting (memory.swap.max)")
    if r.cpu_shares is not None or r.cpu_quota is not None or r.cpu_period is not None:
        need("cpu", "a CPU limit")
        if r.cpu_shares is not None and r.cpu_shares != 0:
            fs.write(directory, "cpu.weight", cpu_weight(r.cpu_shares))
        if r.cpu_quota is not None or r.cpu_period is not None:
            line = cpu_max(r.cpu_quota, r.cpu_period, fs.read(directory, "cpu.max"))
            fs.write(directory, "cpu.max", line)
    if r.cpuset_cpus is not None or r.cpuset_mems is not None:
        need("cpuset", "a cpuset")
        if r.cpuset_cpus is not None:
            fs.write(directory, "cpuset.cpus", r.cpuset_cpus)
        if r.cpuset_mems is not None:
            fs.write(directory, "cpuset.mems", r.cpuset_mems)
    if r.pids_limit is not None:
        need("pids", "a pids limit")
        fs.write(directory, "pids.max", str(r.pids_limit) if r.pids_limit > 0 else "max")
    if r.devices is not None:
        devices.apply(directory, r.devices)
