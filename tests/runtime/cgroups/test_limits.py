"""The drivers against the real kernel: limits bite, freezing stops, stats are true.

Each test runs on the v1 driver on the development machines and on the v2
driver inside the VM harness (tests/vm), with real processes forked for it.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time

import pytest

from supernetes.runtime import explain
from supernetes.runtime.cgroups import factory
from supernetes.runtime.cgroups.base import CgroupError, DeviceRule, Resources

pytestmark = pytest.mark.root

MiB = 1 << 20


def test_memory_hog_is_oom_killed_under_a_32_mib_limit(cgroup, spawn):
    cgroup.set(Resources(memory_limit=32 * MiB))
    hog = spawn("data = b'x' * (256 << 20)\nprint('survived', flush=True)\n")
    cgroup.add(hog.pid)
    hog.go()

    assert hog.wait() == -signal.SIGKILL
    stats = cgroup.stats()
    assert stats.oom_kills == 1
    assert stats.memory_limit == 32 * MiB
    assert stats.memory_max_usage is None or stats.memory_max_usage <= 32 * MiB


def test_fork_bomb_stops_at_pids_max(cgroup, spawn, reap):
    cgroup.set(Resources(pids_limit=8))
    bomb = spawn(
        "made = refused = 0\n"
        "for _ in range(40):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except BlockingIOError:\n"
        "        refused += 1\n"
        "        continue\n"
        "    if pid == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    made += 1\n"
        "print(made, refused, flush=True)\n"
        "sys.stdin.readline()\n")
    cgroup.add(bomb.pid)
    bomb.go()

    made, refused = map(int, bomb.line().split())
    stats = cgroup.stats()
    assert made == 7  # the bomb itself is the eighth task
    assert refused == 33
    assert stats.pids_current == 8
    assert stats.pids_limit == 8
    assert stats.extra["pids_fork_refused"] >= 33
    # Outside the cgroup the machine still forks.
    assert subprocess.run(["true"]).returncode == 0
    pids = cgroup.pids()
    cgroup.kill()
    reap(pids)


def test_cpu_quota_throttles_a_busy_loop(cgroup, spawn):
    cgroup.set(Resources(cpu_quota=20_000, cpu_period=100_000))  # a fifth of one CPU
    loop = spawn(
        "start = time.monotonic()\n"
        "cpu0 = sum(os.times()[:2])\n"
        "while time.monotonic() - start < 1.5:\n"
        "    pass\n"
        "print(sum(os.times()[:2]) - cpu0, time.monotonic() - start, flush=True)\n")
    cgroup.add(loop.pid)
    loop.go()

    cpu, wall = map(float, loop.line(timeout=60).split())
    assert loop.wait() == 0
    stats = cgroup.stats()
    # Unthrottled, the loop would use (nearly) all of its wall time.
    assert 0.02 < cpu / wall < 0.35, f"busy loop got {cpu:.2f}s of CPU in {wall:.2f}s"
    assert stats.cpu_throttled_periods > 0
    assert stats.cpu_throttled_ns > 0
    assert stats.cpu_usage_ns >= cpu * 0.5e9


def test_freeze_stops_progress_and_thaw_resumes_it(cgroup, spawn, tmp_path, wait_for):
    counter = tmp_path / "counter"
    counter.write_bytes(b"0")
    worker = spawn(
        f"fd = os.open({str(counter)!r}, os.O_WRONLY)\n"
        "i = 0\n"
        "while True:\n"
        "    i += 1\n"
        "    if i % 1000 == 0:\n"
        "        os.pwrite(fd, b'%20d' % i, 0)\n")
    cgroup.add(worker.pid)
    worker.go()

    def progress() -> int:
        return int(counter.read_bytes())

    assert wait_for(lambda: progress() > 0, timeout=30)
    cgroup.freeze()
    assert cgroup.frozen()
    stopped_at = progress()
    time.sleep(0.5)
    assert progress() == stopped_at
    assert cgroup.stats().pids_current == 1

    cgroup.thaw()
    assert not cgroup.frozen()
    assert wait_for(lambda: progress() > stopped_at, timeout=30)


def test_stats_report_real_memory_cpu_and_pids(cgroup, spawn):
    worker = spawn(
        "data = b'x' * (48 << 20)\n"
        "start = time.process_time()\n"
        "while time.process_time() - start < 0.3:\n"
        "    pass\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n")
    cgroup.add(worker.pid)
    worker.go()
    assert worker.line(timeout=60) == "ready"

    stats = cgroup.stats()
    assert stats.memory_usage >= 48 * MiB
    assert stats.memory_max_usage is None or stats.memory_max_usage >= stats.memory_usage
    assert stats.memory_limit is None
    assert stats.cpu_usage_ns >= 0.25e9
    assert stats.cpu_user_ns + stats.cpu_system_ns > 0
    assert stats.pids_current == 1
    assert stats.oom_kills == 0
    assert cgroup.pids() == [worker.pid]


def test_device_rules_allow_only_what_they_list(cgroup, spawn):
    cgroup.set(Resources(devices=[
        DeviceRule(allow=False),  # deny everything, as OCI's default list starts
        DeviceRule(allow=True, type="c", major=1, minor=3, access="rwm"),  # /dev/null
    ]))
    probe = spawn(
        "for path in ('/dev/null', '/dev/zero'):\n"
        "    try:\n"
        "        os.close(os.open(path, os.O_RDONLY))\n"
        "        print(path, 0, flush=True)\n"
        "    except OSError as exc:\n"
        "        print(path, exc.errno, flush=True)\n")
    cgroup.add(probe.pid)
    probe.go()

    assert probe.line() == "/dev/null 0"
    assert probe.line() == f"/dev/zero {errno.EPERM}"


def test_kill_ends_every_process_including_grandchildren(cgroup, spawn, reap, wait_for):
    parent = spawn(
        "for _ in range(3):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "print('forked', flush=True)\n"
        "time.sleep(60)\n")
    cgroup.add(parent.pid)
    parent.go()
    assert parent.line() == "forked"
    pids = cgroup.pids()
    assert len(pids) == 4

    cgroup.kill()
    assert parent.wait() == -signal.SIGKILL
    reap([pid for pid in pids if pid != parent.pid])  # orphans, adopted by the subreaper
    assert wait_for(lambda: cgroup.pids() == [], timeout=5)


def test_destroy_refuses_while_processes_run_and_leaves_nothing_after(cgroup, spawn):
    sleeper = spawn("time.sleep(60)\n")
    cgroup.add(sleeper.pid)
    sleeper.go()

    with pytest.raises(CgroupError, match=str(sleeper.pid)):
        cgroup.destroy()
    assert cgroup.exists()

    cgroup.kill()
    sleeper.wait()
    cgroup.destroy()
    assert not cgroup.exists()
    assert not any(os.path.exists(p) for p in cgroup.paths().values())


@pytest.mark.parametrize("version", [
    pytest.param(1, marks=pytest.mark.cgroup_v1, id="v1"),
    pytest.param(2, marks=pytest.mark.cgroup_v2, id="v2"),
])
def test_nested_cgroups_path_is_pruned_up_to_the_parent(version):
    top = f"sn-cg-{os.urandom(4).hex()}"
    manager = factory.new_manager(f"{top}/pod/c1")
    assert manager.version == version
    manager.create()
    parents = manager.parents()
    reopened = factory.from_paths(manager.paths(), parents)
    reopened.destroy()

    assert not manager.exists()
    for key, parent in parents.items():
        assert os.path.isdir(parent)
        assert not os.path.exists(os.path.join(parent, top)), key


def test_explain_shows_every_file_written_with_its_value(cgroup):
    read_end, write_end = os.pipe()
    explain.enable(write_end, prefix="superc")
    try:
        cgroup.set(Resources(memory_limit=32 * MiB, pids_limit=16))
    finally:
        explain.disable()
        os.close(write_end)
    with os.fdopen(read_end) as f:
        trace = f.read().splitlines()

    if cgroup.version == 1:
        memory, pids = cgroup.paths()["memory"], cgroup.paths()["pids"]
        assert f"superc: write {memory}/memory.limit_in_bytes = 33554432" in trace
    else:
        memory = pids = cgroup.paths()[""]
        assert f"superc: write {memory}/memory.max = 33554432" in trace
    assert f"superc: write {pids}/pids.max = 16" in trace


def test_a_bad_value_is_one_clear_error_naming_the_file(cgroup):
    with pytest.raises(CgroupError) as caught:
        cgroup.set(Resources(cpuset_cpus="4096"))
    message = str(caught.value)
    assert "cpuset.cpus" in message
    assert "4096" in message
    assert "\n" not in message
