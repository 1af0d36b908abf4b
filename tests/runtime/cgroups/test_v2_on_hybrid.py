"""The v2 driver on this machine's real, controller-less cgroup2 hierarchy.

Hybrid machines mount cgroup2 at /sys/fs/cgroup/unified with no controllers, but
its core features work there: membership, `cgroup.freeze`, `cgroup.kill`, and
eBPF device programs (the kernel runs them on every device access, hybrid or
not). So those parts of the v2 driver are tested for real on the development
machines too; the limits need controllers and run in the VM harness.
"""

from __future__ import annotations

import errno
import os
import signal
import time

import pytest

from supernetes.runtime.cgroups import factory
from supernetes.runtime.cgroups.base import DeviceRule, Resources

UNIFIED = "/sys/fs/cgroup/unified"

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.path.exists(f"{UNIFIED}/cgroup.controllers"),
                       reason="needs the hybrid layout's cgroup2 at /sys/fs/cgroup/unified"),
]


@pytest.fixture
def unified(reap):
    manager = factory.new_manager(f"sn-cg-{os.urandom(4).hex()}", root=UNIFIED)
    assert manager.version == 2
    manager.create()
    yield manager
    if manager.frozen():
        manager.thaw()
    pids = manager.pids()
    manager.kill()
    reap(pids)
    manager.destroy()


def test_freeze_and_thaw_on_the_unified_hierarchy(unified, spawn, tmp_path, wait_for):
    counter = tmp_path / "counter"
    counter.write_bytes(b"0")
    worker = spawn(f"fd = os.open({str(counter)!r}, os.O_WRONLY)\n"
                   "i = 0\n"
                   "while True:\n"
                   "    i += 1\n"
                   "    os.pwrite(fd, b'%20d' % i, 0)\n")
    unified.add(worker.pid)
    worker.go()
    assert wait_for(lambda: int(counter.read_bytes()) > 0)

    unified.freeze()
    stopped_at = int(counter.read_bytes())
    time.sleep(0.3)
    assert int(counter.read_bytes()) == stopped_at
    unified.thaw()
    assert wait_for(lambda: int(counter.read_bytes()) > stopped_at)


def test_an_ebpf_device_program_enforces_the_rules(unified, spawn):
    unified.set(Resources(devices=[
        DeviceRule(allow=False),
        DeviceRule(allow=True, type="c", major=1, minor=3, access="rw"),  # /dev/null
        DeviceRule(allow=True, type="c", major=1, minor=5, access="r"),  # /dev/zero, read
    ]))
    probe = spawn("for path, flags in (('/dev/null', os.O_RDWR), ('/dev/zero', os.O_RDONLY),\n"
                  "                    ('/dev/zero', os.O_WRONLY), ('/dev/full', os.O_RDONLY)):\n"
                  "    try:\n"
                  "        os.close(os.open(path, flags))\n"
                  "        print(0, flush=True)\n"
                  "    except OSError as exc:\n"
                  "        print(exc.errno, flush=True)\n")
    unified.add(probe.pid)
    probe.go()

    results = [int(probe.line()) for _ in range(4)]
    assert results == [0, 0, errno.EPERM, errno.EPERM]


def test_replacing_device_rules_detaches_the_old_program(unified, spawn):
    unified.set(Resources(devices=[DeviceRule(allow=False)]))
    unified.set(Resources(devices=[DeviceRule(allow=True)]))
    probe = spawn("os.close(os.open('/dev/zero', os.O_RDONLY))\nprint('opened', flush=True)\n")
    unified.add(probe.pid)
    probe.go()

    assert probe.line() == "opened"


def test_cgroup_kill_ends_the_whole_tree(unified, spawn, reap, wait_for):
    parent = spawn("for _ in range(2):\n"
                   "    if os.fork() == 0:\n"
                   "        time.sleep(60)\n"
                   "print('forked', flush=True)\n"
                   "time.sleep(60)\n")
    unified.add(parent.pid)
    parent.go()
    assert parent.line() == "forked"
    pids = unified.pids()
    assert len(pids) == 3

    unified.kill()
    assert parent.wait() == -signal.SIGKILL
    reap([pid for pid in pids if pid != parent.pid])
    assert wait_for(lambda: unified.pids() == [])
