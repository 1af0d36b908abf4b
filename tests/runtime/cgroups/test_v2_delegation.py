"""The no-internal-processes rule on a real cgroup v2 kernel (runs in the VM harness).

A non-root v2 cgroup that holds processes cannot hand memory, cpu or io to its
children. These tests put a real process into a cgroup of its own, let it create
a container cgroup the way `superc` does, and check what the driver did about it.
"""

from __future__ import annotations

import os

import pytest

from supernetes.runtime.cgroups import factory, fs
from supernetes.runtime.cgroups.base import Resources
from supernetes.runtime.cgroups.v2 import SUPERVISOR_LEAF

pytestmark = [pytest.mark.root, pytest.mark.cgroup_v2]

ROOT = "/sys/fs/cgroup"

# Runs in a child that the test moved into its own cgroup.
CREATE_CONTAINER_CGROUP = """
from supernetes.runtime.cgroups import factory
from supernetes.runtime.cgroups.base import CgroupError
try:
    manager = factory.new_manager("c1")
    manager.create()
except CgroupError as exc:
    print("error", exc, flush=True)
    sys.exit(1)
with open("/proc/self/cgroup") as f:
    own = f.read().strip().split("::")[1]
print(own, manager.paths()[""], flush=True)
"""


@pytest.fixture
def home():
    """A cgroup of the test's own below the root, offered the usual controllers (as
    systemd's Delegate=yes offers them to a service), removed with all it holds."""
    with open(os.path.join(ROOT, "cgroup.subtree_control"), "w") as f:
        f.write("+cpu +memory +pids")
    name = f"sn-home-{os.urandom(4).hex()}"
    directory = os.path.join(ROOT, name)
    os.mkdir(directory)
    yield name
    for pid in fs.procs(directory):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    fs.wait_until_empty([directory], 5)
    fs.remove_tree(directory)


def move(pid: int, cgroup: str) -> None:
    with open(os.path.join(ROOT, cgroup, "cgroup.procs"), "w") as f:
        f.write(str(pid))


def test_a_caller_alone_in_its_cgroup_steps_into_a_leaf_so_it_can_delegate(home, spawn):
    caller = spawn(CREATE_CONTAINER_CGROUP, venv=True)
    move(caller.pid, home)
    caller.go()

    own, container = caller.line(timeout=120).split()
    assert caller.wait() == 0
    assert own == f"/{home}/{SUPERVISOR_LEAF}"
    assert container == f"{ROOT}/{home}/c1"
    with open(f"{container}/cgroup.controllers") as f:
        assert {"cpu", "memory", "pids"} <= set(f.read().split())


def test_a_caller_sharing_its_cgroup_gets_one_line_saying_what_to_do(home, spawn):
    neighbour = spawn("time.sleep(60)\n")
    caller = spawn(CREATE_CONTAINER_CGROUP, venv=True)
    move(neighbour.pid, home)
    move(caller.pid, home)
    caller.go()

    line = caller.line(timeout=120)
    assert caller.wait() == 1
    assert line.startswith("error ") and "--cgroup-root" in line
    assert str(neighbour.pid) in line
    assert not os.path.exists(f"{ROOT}/{home}/c1")
    with open(f"{ROOT}/{home}/cgroup.procs") as f:
        assert sorted(map(int, f.read().split())) == sorted([neighbour.pid])


def test_an_explicit_empty_parent_takes_containers_with_limits(home):
    manager = factory.new_manager("c1", parent=f"/{home}")
    manager.create()
    try:
        manager.set(Resources(memory_limit=32 << 20, pids_limit=10))
        assert manager.stats().memory_limit == 32 << 20
        assert manager.paths() == {"": f"{ROOT}/{home}/c1"}
    finally:
        manager.destroy()
    assert not manager.exists()
    assert os.path.isdir(f"{ROOT}/{home}")
