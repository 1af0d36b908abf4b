"""The v2 driver's logic against a stand-in cgroupfs tree (plain files under tmp_path).

The development machines have no cgroup v2 controllers, so these unit tests
check what the driver *writes* and how it *reads*: placement, delegation and the
no-internal-processes rule, runc's unit conversions, stats parsing, the freeze
handshake. The same driver runs against the real kernel in the VM harness
(tests/vm, the `v2` cases of test_limits.py and test_v2_delegation.py).
"""

from __future__ import annotations

import os

import pytest

from supernetes.runtime.cgroups import factory
from supernetes.runtime.cgroups.base import CgroupError, Resources
from supernetes.runtime.cgroups.v2 import manager as v2manager
from supernetes.runtime.cgroups.v2 import resources as v2resources

MiB = 1 << 20
ALL = "cpuset cpu io memory hugetlb pids"
DELEGATE_ALL = "+cpuset +cpu +io +memory +pids +hugetlb"


def fake_cgroup(path, controllers: str = ALL, procs=(), root: bool = False):
    """A directory with the files the kernel would put in a v2 cgroup."""
    path.mkdir(parents=True, exist_ok=True)
    files = {
        "cgroup.controllers": controllers,
        "cgroup.subtree_control": "",
        "cgroup.procs": "".join(f"{pid}\n" for pid in procs),
        "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
    }
    if not root:
        files.update({
            "cgroup.type": "domain",
            "cgroup.events": "populated 0\nfrozen 0\n",
            "cgroup.freeze": "0",
            "memory.max": "max", "memory.low": "0", "memory.swap.max": "max",
            "cpu.max": "max 100000", "cpu.weight": "100",
            "cpuset.cpus": "", "cpuset.mems": "", "pids.max": "max",
        })
    for name, text in files.items():
        (path / name).write_text(text)
    return path


@pytest.fixture
def tree(tmp_path):
    return fake_cgroup(tmp_path / "cgroup", root=True)


def proc_cgroup(tmp_path, cgroup: str):
    path = tmp_path / "proc-self-cgroup"
    path.write_text(f"0::{cgroup}\n")
    return str(path)


def manager_for(tree, tmp_path, path, own="/", parent=None):
    return factory.new_manager(path, parent=parent, root=str(tree),
                               proc_cgroup=proc_cgroup(tmp_path, own))


def test_detect_mode_recognises_a_unified_hierarchy(tree):
    assert factory.detect_mode(str(tree)) == factory.UNIFIED


@pytest.mark.parametrize("path", ["/web/c1", "web/c1", "../../web/./c1"])
def test_cgroup_goes_below_the_callers_own_cgroup_whatever_the_path(tree, tmp_path, path):
    manager = manager_for(tree, tmp_path, path, own="/user.slice/session-3.scope")

    assert manager.paths() == {"": f"{tree}/user.slice/session-3.scope/web/c1"}
    assert manager.parents() == {"": f"{tree}/user.slice/session-3.scope"}


def test_explicit_parent_overrides_the_callers_cgroup(tree, tmp_path):
    manager = manager_for(tree, tmp_path, "c1", own="/user.slice", parent="/supernetes/pods")

    assert manager.paths() == {"": f"{tree}/supernetes/pods/c1"}


def test_a_path_naming_the_parent_itself_is_refused(tree, tmp_path):
    with pytest.raises(CgroupError, match="names the parent"):
        manager_for(tree, tmp_path, "a/..")


def test_create_hands_the_controllers_down_every_level(tree, tmp_path):
    parent = fake_cgroup(tree / "p")
    middle = fake_cgroup(parent / "pod")  # the kernel would populate it on mkdir
    manager = manager_for(tree, tmp_path, "pod/c1", parent="/p")

    manager.create()

    assert (parent / "cgroup.subtree_control").read_text() == DELEGATE_ALL
    assert (middle / "cgroup.subtree_control").read_text() == DELEGATE_ALL
    assert (middle / "c1").is_dir()


def test_only_controllers_the_parent_offers_are_handed_down(tree, tmp_path):
    parent = fake_cgroup(tree / "p", controllers="memory pids")
    manager_for(tree, tmp_path, "c1", parent="/p").create()

    assert (parent / "cgroup.subtree_control").read_text() == "+memory +pids"


def test_a_parent_shared_with_other_processes_is_refused_in_one_line(tree, tmp_path):
    scope = fake_cgroup(tree / "shell.scope", procs=[os.getpid(), 4_000_000])
    manager = manager_for(tree, tmp_path, "c1", own="/shell.scope")

    with pytest.raises(CgroupError) as caught:
        manager.create()
    message = str(caught.value)
    assert "--cgroup-root" in message and "4000000" in message
    assert "\n" not in message
    assert not (scope / "c1").exists()
    assert (scope / "cgroup.subtree_control").read_text() == ""


def test_a_caller_alone_in_its_cgroup_steps_aside_into_a_leaf(tree, tmp_path):
    service = fake_cgroup(tree / "agent.service", procs=[os.getpid()])
    leaf = fake_cgroup(service / v2manager.SUPERVISOR_LEAF)  # as the kernel would on mkdir
    manager = manager_for(tree, tmp_path, "c1", own="/agent.service")

    manager.create()

    assert (leaf / "cgroup.procs").read_text() == str(os.getpid())
    assert (service / "cgroup.subtree_control").read_text() == DELEGATE_ALL
    assert (service / "c1").is_dir()
    # Once aside, the caller keeps placing containers next to its leaf, not in it.
    again = manager_for(tree, tmp_path, "c2",
                        own=f"/agent.service/{v2manager.SUPERVISOR_LEAF}")
    assert again.paths() == {"": f"{service}/c2"}


def test_an_explicit_parent_holding_the_caller_is_not_rearranged(tree, tmp_path):
    fake_cgroup(tree / "agent.service", procs=[os.getpid()])
    manager = manager_for(tree, tmp_path, "c1", parent="/agent.service")

    with pytest.raises(CgroupError, match="--cgroup-root"):
        manager.create()


def test_the_root_cgroup_delegates_even_though_it_holds_processes(tmp_path):
    root = fake_cgroup(tmp_path / "cgroup", procs=[1, os.getpid()], root=True)
    manager_for(root, tmp_path, "c1").create()

    assert (root / "cgroup.subtree_control").read_text() == DELEGATE_ALL


@pytest.fixture
def leaf(tree, tmp_path):
    """A created cgroup whose files are in place, and its manager."""
    manager = manager_for(tree, tmp_path, "c1")
    directory = fake_cgroup(tree / "c1")
    manager.create()
    return manager, directory


def test_set_writes_runc_conversions_into_v2_files(leaf):
    manager, directory = leaf
    manager.set(Resources(memory_limit=64 * MiB, memory_swap=96 * MiB,
                          memory_reservation=16 * MiB, cpu_shares=1024, cpu_quota=50_000,
                          cpu_period=100_000, cpuset_cpus="0-1", cpuset_mems="0",
                          pids_limit=-1))

    written = {name: (directory / name).read_text() for name in (
        "memory.max", "memory.swap.max", "memory.low", "cpu.weight", "cpu.max",
        "cpuset.cpus", "cpuset.mems", "pids.max")}
    assert written == {
        "memory.max": str(64 * MiB),
        "memory.swap.max": str(32 * MiB),  # v2 limits swap alone, OCI gives memory+swap
        "memory.low": str(16 * MiB),
        "cpu.weight": "39",
        "cpu.max": "50000 100000",
        "cpuset.cpus": "0-1",
        "cpuset.mems": "0",
        "pids.max": "max",
    }


def test_fields_left_unset_are_not_touched(leaf):
    manager, directory = leaf
    manager.set(Resources(pids_limit=32))

    assert (directory / "pids.max").read_text() == "32"
    assert (directory / "memory.max").read_text() == "max"
    assert (directory / "cpu.max").read_text() == "max 100000"


def test_changing_the_cpu_period_alone_keeps_the_quota(leaf):
    manager, directory = leaf
    (directory / "cpu.max").write_text("25000 50000")
    manager.set(Resources(cpu_period=200_000))
    assert (directory / "cpu.max").read_text() == "25000 200000"

    manager.set(Resources(cpu_quota=-1))
    assert (directory / "cpu.max").read_text() == "max 200000"


@pytest.mark.parametrize(("shares", "weight"), [(2, 1), (1024, 39), (262144, 10000),
                                                (1, 1), (10**6, 10000)])
def test_cpu_shares_map_onto_cpu_weight_as_runc_maps_them(shares, weight):
    assert v2resources.cpu_weight(shares) == weight


def test_a_swap_limit_below_the_memory_limit_is_refused(leaf):
    manager, _ = leaf
    with pytest.raises(CgroupError, match="below the memory limit"):
        manager.set(Resources(memory_limit=64 * MiB, memory_swap=32 * MiB))


def test_a_limit_for_a_controller_not_delegated_names_the_controller(tree, tmp_path):
    manager = manager_for(tree, tmp_path, "c1")
    fake_cgroup(tree / "c1", controllers="cpu pids")
    manager.create()

    with pytest.raises(CgroupError, match="needs the memory controller"):
        manager.set(Resources(memory_limit=32 * MiB))


def test_stats_are_read_from_the_v2_files(leaf):
    manager, directory = leaf
    for name, text in {
        "memory.current": "1048576", "memory.peak": "4194304", "memory.max": "33554432",
        "memory.events": "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n",
        "memory.stat": "anon 524288\nfile 262144\n",
        "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\n"
                    "nr_throttled 4\nthrottled_usec 250\n",
        "pids.current": "3", "pids.max": "max", "pids.events": "max 5\n",
    }.items():
        (directory / name).write_text(text)

    stats = manager.stats()

    assert (stats.memory_usage, stats.memory_max_usage, stats.memory_limit) == (
        MiB, 4 * MiB, 32 * MiB)
    assert stats.oom_kills == 2
    assert (stats.cpu_usage_ns, stats.cpu_user_ns, stats.cpu_system_ns) == (
        1_500_000, 1_000_000, 500_000)
    assert (stats.cpu_throttled_periods, stats.cpu_throttled_ns) == (4, 250_000)
    assert (stats.pids_current, stats.pids_limit) == (3, None)
    assert stats.extra["pids_fork_refused"] == 5
    assert stats.extra["memory_anon"] == 512 * 1024


def test_freeze_returns_once_the_kernel_reports_frozen(leaf):
    manager, directory = leaf
    (directory / "cgroup.events").write_text("populated 1\nfrozen 1\n")

    manager.freeze()

    assert (directory / "cgroup.freeze").read_text() == "1"
    assert manager.frozen()


def test_a_freeze_that_never_completes_is_undone_and_reported(leaf, monkeypatch):
    manager, directory = leaf
    monkeypatch.setattr(v2manager, "FREEZE_TIMEOUT", 0.05)

    with pytest.raises(CgroupError, match="did not stop"):
        manager.freeze()
    assert (directory / "cgroup.freeze").read_text() == "0"


def test_a_saved_cgroup_reopens_as_the_same_v2_cgroup(leaf):
    manager, _ = leaf
    reopened = factory.from_paths(manager.paths(), manager.parents())

    assert reopened.version == 2
    assert reopened.paths() == manager.paths()
    assert reopened.parents() == manager.parents()


def test_a_device_rule_of_unknown_type_is_refused_before_anything_is_loaded(leaf):
    from supernetes.runtime.cgroups.base import DeviceRule

    manager, _ = leaf
    with pytest.raises(CgroupError, match="type 'x'"):
        manager.set(Resources(devices=[DeviceRule(allow=True, type="x")]))
