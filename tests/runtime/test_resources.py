"""cgroup limits through superc: OOM kills, pids limits, CPU quota, freezing, updates.

These run on whatever cgroup layout the machine has (the driver is picked by the
factory): v1 on the hybrid development machines; the drivers themselves are
tested against real cgroup v2 in the VM (tests/vm).
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

pytestmark = pytest.mark.root

MiB = 1 << 20


def state(superc, cid: str) -> dict:
    result = superc("state", cid)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def resources(bundle) -> dict:
    return bundle.config["linux"].setdefault("resources", {})


def test_memory_hog_is_oom_killed_and_reported(superc, bundle, wait_for):
    resources(bundle)["memory"] = {"limit": 32 * MiB}
    # tail keeps the current line in memory, and /dev/zero never ends one.
    bundle.sh("exec tail /dev/zero")
    assert superc("create", "--bundle", bundle.path, "c1").returncode == 0
    assert superc("start", "c1").returncode == 0
    stopped = wait_for(lambda: (s := state(superc, "c1"))["status"] == "stopped" and s,
                       timeout=60)
    assert stopped["exitCode"] == 137 and stopped["signal"] == 9
    assert stopped["oomKilled"] is True


def test_superc_run_of_a_memory_hog_exits_137(superc, bundle):
    resources(bundle)["memory"] = {"limit": 32 * MiB}
    bundle.sh("exec tail /dev/zero")
    assert superc("run", "--bundle", bundle.path, "c1", timeout=120).returncode == 137


def test_a_container_within_its_memory_limit_is_not_oom_killed(superc, bundle, wait_for):
    resources(bundle)["memory"] = {"limit": 32 * MiB}
    bundle.sh("head -c 1000000 /dev/zero | tail -c 10 | wc -c; sleep 0.1; kill -9 $$; exit 2")
    superc("create", "--bundle", bundle.path, "c1", check=True)
    superc("start", "c1", check=True)
    stopped = wait_for(lambda: (s := state(superc, "c1"))["status"] == "stopped" and s)
    assert stopped["oomKilled"] is False


def test_fork_bomb_stops_at_the_pids_limit(superc, runtime, bundle, wait_for):
    resources(bundle)["pids"] = {"limit": 16}
    bundle.sh("b() { b | b & }; b 2>/dev/null; sleep 30")
    superc("create", "--bundle", bundle.path, "c1", check=True)
    superc("start", "c1", check=True)
    stats = wait_for(lambda: (s := runtime.stats("c1")).pids_current >= 16 and s, timeout=30)
    time.sleep(0.5)  # the bomb keeps trying
    stats = runtime.stats("c1")
    assert stats.pids_limit == 16
    assert stats.pids_current <= 16
    assert len(runtime.ps("c1")) <= 16
    # The host is untouched: we can still start processes.
    assert subprocess.run(["true"]).returncode == 0
    assert superc("delete", "-f", "c1").returncode == 0


def test_cpu_quota_throttles_a_busy_loop(superc, run_detached, runtime, bundle):
    resources(bundle)["cpu"] = {"quota": 20000, "period": 100000}  # 0.2 CPU
    bundle.sh("while :; do :; done")
    run_detached("c1")
    before, start = runtime.stats("c1"), time.monotonic()
    time.sleep(2.0)
    after, elapsed = runtime.stats("c1"), time.monotonic() - start
    used = (after.cpu_usage_ns - before.cpu_usage_ns) / 1e9
    assert used / elapsed < 0.3, f"{used:.2f}s of CPU in {elapsed:.2f}s"
    assert after.cpu_throttled_periods > before.cpu_throttled_periods
    assert after.cpu_throttled_ns > 0


def test_pause_freezes_and_resume_thaws(superc, run_detached, bundle, tmp_path, wait_for):
    out = tmp_path / "out"
    out.mkdir()
    bundle.config["mounts"].append({"destination": "/out", "type": "bind",
                                    "source": str(out), "options": ["rbind"]})
    bundle.sh("i=0; while :; do i=$((i+1)); echo $i > /out/n.tmp; mv /out/n.tmp /out/n; "
              "sleep 0.02; done")
    run_detached("c1")

    def count() -> int:
        try:
            return int((out / "n").read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    wait_for(lambda: count() > 3)
    assert superc("pause", "c1").returncode == 0
    assert state(superc, "c1")["status"] == "paused"
    frozen_at = count()
    time.sleep(0.5)
    assert count() == frozen_at
    assert superc("pause", "c1").returncode == 1  # already paused
    assert superc("resume", "c1").returncode == 0
    assert state(superc, "c1")["status"] == "running"
    wait_for(lambda: count() > frozen_at + 3)
    assert superc("resume", "c1").returncode == 1  # not paused


def test_a_paused_container_can_be_force_deleted(superc, run_detached, bundle, state_root):
    bundle.args("sleep", "30")
    run_detached("c1")
    assert superc("pause", "c1").returncode == 0
    assert superc("delete", "c1").returncode == 1
    assert superc("delete", "-f", "c1").returncode == 0
    assert not os.path.exists(os.path.join(state_root, "c1"))


def test_update_changes_the_limits_of_a_running_container(superc, run_detached, runtime, bundle):
    bundle.sh("sleep 30 & sleep 30 & wait")
    run_detached("c1")
    result = superc("update", "--memory", "64m", "--pids-limit", "5", "--cpus", "0.5", "c1")
    assert result.returncode == 0, result.stderr
    stats = runtime.stats("c1")
    assert stats.memory_limit == 64 * MiB
    assert stats.pids_limit == 5
    # The new pids limit bites: 3 processes run, only 2 more may start.
    forks = superc("exec", "c1", "--", "sh", "-c",
                   "for i in 1 2 3 4; do sleep 5 & done 2>&1; wait")
    assert "can't fork" in forks.stdout + forks.stderr


def test_stats_report_usage(superc, run_detached, runtime, bundle):
    bundle.sh("x=$(head -c 2000000 /dev/urandom | md5sum); sleep 30")
    run_detached("c1")
    time.sleep(0.5)
    stats = runtime.stats("c1")
    assert stats.memory_usage > 0
    assert stats.cpu_usage_ns > 0
    assert stats.pids_current >= 1
