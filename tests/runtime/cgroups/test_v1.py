"""v1-only behaviour on the real hybrid hierarchy: ordering quirks, cpuset
inheritance, and failures that leave nothing behind."""

from __future__ import annotations

import os

import pytest

from supernetes.runtime.cgroups import factory
from supernetes.runtime.cgroups.base import CgroupError, Resources

pytestmark = [pytest.mark.root, pytest.mark.cgroup_v1]

MiB = 1 << 20


@pytest.fixture
def v1(request):
    manager = factory.new_manager(f"sn-cg-{os.urandom(4).hex()}")
    assert manager.version == 1
    manager.create()
    yield manager
    manager.destroy()


def read(directory: str, name: str) -> str:
    with open(os.path.join(directory, name)) as f:
        return f.read().strip()


def test_memory_and_swap_limits_are_written_in_an_order_the_kernel_accepts(v1):
    memory = v1.paths()["memory"]
    v1.set(Resources(memory_limit=64 * MiB, memory_swap=128 * MiB))
    # Lowering both: memory first, or memory+swap would drop below memory.
    v1.set(Resources(memory_limit=32 * MiB, memory_swap=48 * MiB))
    assert read(memory, "memory.limit_in_bytes") == str(32 * MiB)
    assert read(memory, "memory.memsw.limit_in_bytes") == str(48 * MiB)
    # Raising both: memory+swap first, or memory would exceed it.
    v1.set(Resources(memory_limit=256 * MiB, memory_swap=512 * MiB))
    assert read(memory, "memory.limit_in_bytes") == str(256 * MiB)
    assert read(memory, "memory.memsw.limit_in_bytes") == str(512 * MiB)
    # Lifting the memory limit lifts memory+swap too.
    v1.set(Resources(memory_limit=-1))
    assert v1.stats().memory_limit is None
    assert int(read(memory, "memory.memsw.limit_in_bytes")) > 1 << 62


def test_cpu_shares_quota_and_period_land_in_the_cfs_files(v1):
    cpu = v1.paths()["cpu"]
    v1.set(Resources(cpu_shares=512, cpu_quota=50_000, cpu_period=200_000))
    assert (read(cpu, "cpu.shares"), read(cpu, "cpu.cfs_quota_us"),
            read(cpu, "cpu.cfs_period_us")) == ("512", "50000", "200000")
    v1.set(Resources(cpu_quota=-1))
    assert read(cpu, "cpu.cfs_quota_us") == "-1"


def test_new_cpuset_cgroups_inherit_cpus_and_mems_at_every_level():
    top = f"sn-cg-{os.urandom(4).hex()}"
    manager = factory.new_manager(f"{top}/pod/c1")
    manager.create()
    try:
        cpuset = manager.paths()["cpuset"]
        parent = manager.parents()["cpuset"]
        for directory in (cpuset, os.path.dirname(cpuset)):
            assert read(directory, "cpuset.cpus") == read(parent, "cpuset.cpus")
            assert read(directory, "cpuset.mems") == read(parent, "cpuset.mems")
        manager.set(Resources(cpuset_cpus="0"))
        assert read(cpuset, "cpuset.cpus") == "0"
    finally:
        manager.destroy()


def test_a_failed_create_leaves_no_directory_behind():
    top = f"sn-cg-{os.urandom(4).hex()}"
    # The kernel's own control file stands where a directory should go: the
    # first level is made in every hierarchy, the second fails.
    manager = factory.new_manager(f"{top}/cgroup.procs/c1")

    with pytest.raises(CgroupError, match="File exists"):
        manager.create()
    for parent in manager.parents().values():
        assert not os.path.exists(os.path.join(parent, top))


def test_limits_for_an_unmounted_controller_are_refused_by_name():
    from supernetes.runtime.cgroups.v1.manager import V1Manager

    parents = factory.new_manager("x").parents()
    manager = V1Manager({"cpu": os.path.join(parents["cpu"], "never-made")})
    with pytest.raises(CgroupError, match="no memory cgroup hierarchy"):
        manager.set(Resources(memory_limit=MiB))
