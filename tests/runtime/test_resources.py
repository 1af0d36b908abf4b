"""cgroup limits through superc: OOM kills, pids limits, CPU quota, freezing, updates.

These run on whatever cgroup layout the machine has (the driver is picked by the
factory): v1 on the hybrid development machines, and, being marked `cgroups`,
on real cgroup v2 inside the VM harness (tests/vm). They drive the library API
(the code path the CLI and the spawner share) to stay quick under the VM's
software emulation; `superc run`'s exit code for an OOM kill is checked through
the real CLI.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from supernetes.runtime import execute
from supernetes.runtime.cgroups.base import Resources
from supernetes.runtime.errors import InvalidStateError
from supernetes.runtime.stdio import Stdio

pytestmark = [pytest.mark.root, pytest.mark.cgroups]

MiB = 1 << 20


def resources(bundle) -> dict:
    return bundle.config["linux"].setdefault("resources", {})


def started(runtime, bundle, cid: str = "c1", **kwargs) -> dict:
    bundle.save()
    runtime.create(cid, bundle.path, **kwargs)
    runtime.start(cid)
    return runtime.state(cid)


def test_memory_hog_is_oom_killed_and_reported(runtime, bundle):
    resources(bundle)["memory"] = {"limit": 32 * MiB}
    # tail keeps the current line in memory, and /dev/zero never ends one.
    bundle.sh("exec tail /dev/zero")
    started(runtime, bundle)
    record = runtime.wait("c1", timeout=120)
    assert (record["exitCode"], record["signal"], record["oomKilled"]) == (137, 9, True)
    state = runtime.state("c1")
    assert state["status"] == "stopped" and state["oomKilled"] is True


def test_superc_run_of_a_memory_hog_exits_137(superc, bundle):
    resources(bundle)["memory"] = {"limit": 32 * MiB}
    bundle.sh("exec tail /dev/zero")
    assert superc("run", "--bundle", bundle.path, "c1", timeout=240).returncode == 137


def test_a_container_within_its_memory_limit_is_not_oom_killed(runtime, bundle):
    resources(bundle)["memory"] = {"limit": 32 * MiB}
    bundle.sh("head -c 1000000 /dev/zero | tail -c 10 | wc -c >/dev/null; exit 3")
    started(runtime, bundle)
    record = runtime.wait("c1", timeout=60)
    assert (record["exitCode"], record["oomKilled"]) == (3, False)


def test_fork_bomb_stops_at_the_pids_limit(runtime, bundle, wait_for):
    resources(bundle)["pids"] = {"limit": 16}
    # Every bomb process forks more of itself, forever; the init waits it out.
    bundle.sh("b() { while :; do b & done; }; (b) 2>/dev/null; sleep 60")
    started(runtime, bundle)
    # The kernel refusing a fork for the limit is what stopping at it means (pids.events
    # counts only those). The count itself is no witness: busybox sh exits when a fork
    # fails, so the bomb burns down again at its own pace.
    wait_for(lambda: runtime.stats("c1").extra["pids_fork_refused"] > 0, timeout=60)
    for _ in range(20):  # never past the limit
        stats = runtime.stats("c1")
        assert stats.pids_current <= 16
        time.sleep(0.02)
    assert stats.pids_limit == 16
    assert len(runtime.ps("c1")) <= 16
    # The host is untouched: we can still start processes.
    assert subprocess.run(["true"]).returncode == 0
    runtime.delete("c1", force=True)
    assert runtime.list() == []


def test_cpu_quota_throttles_a_busy_loop(runtime, bundle):
    resources(bundle)["cpu"] = {"quota": 20000, "period": 100000}  # 0.2 CPU
    bundle.sh("while :; do :; done")
    started(runtime, bundle)
    before, start = runtime.stats("c1"), time.monotonic()
    time.sleep(2.0)
    after, elapsed = runtime.stats("c1"), time.monotonic() - start
    used = (after.cpu_usage_ns - before.cpu_usage_ns) / 1e9
    assert used / elapsed < 0.3, f"{used:.2f}s of CPU in {elapsed:.2f}s"
    assert after.cpu_throttled_periods > before.cpu_throttled_periods
    assert after.cpu_throttled_ns > 0


def test_pause_freezes_and_resume_thaws(runtime, bundle, tmp_path, wait_for):
    out = tmp_path / "out"
    out.mkdir()
    bundle.config["mounts"].append({"destination": "/out", "type": "bind",
                                    "source": str(out), "options": ["rbind"]})
    bundle.sh("i=0; while :; do i=$((i+1)); echo $i > /out/n.tmp; mv /out/n.tmp /out/n; "
              "sleep 0.02; done")
    started(runtime, bundle)

    def count() -> int:
        try:
            return int((out / "n").read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    wait_for(lambda: count() > 3, timeout=60)
    runtime.pause("c1")
    assert runtime.state("c1")["status"] == "paused"
    frozen_at = count()
    time.sleep(0.5)
    assert count() == frozen_at
    with pytest.raises(InvalidStateError, match="it is paused"):
        runtime.pause("c1")
    runtime.resume("c1")
    assert runtime.state("c1")["status"] == "running"
    wait_for(lambda: count() > frozen_at + 3, timeout=60)
    with pytest.raises(InvalidStateError, match="it is running"):
        runtime.resume("c1")


def test_a_paused_container_can_be_force_deleted(runtime, bundle, state_root):
    bundle.args("sleep", "30")
    started(runtime, bundle)
    runtime.pause("c1")
    with pytest.raises(InvalidStateError, match="use delete -f"):
        runtime.delete("c1")
    runtime.delete("c1", force=True)
    assert not os.path.exists(os.path.join(state_root, "c1"))


def test_update_changes_the_limits_of_a_running_container(runtime, bundle, tmp_path):
    bundle.sh("sleep 30 & sleep 30 & wait")
    started(runtime, bundle)
    runtime.update("c1", Resources(memory_limit=64 * MiB, pids_limit=5,
                                   cpu_quota=50000, cpu_period=100000))
    stats = runtime.stats("c1")
    assert stats.memory_limit == 64 * MiB
    assert stats.pids_limit == 5
    # The new pids limit bites: 3 processes run, only 2 more may start.
    log = tmp_path / "exec.log"
    process = execute.process_for_exec(runtime.container("c1"), [
        "sh", "-c", "for i in 1 2 3 4; do sleep 5 & done; wait"])
    handle = runtime.exec("c1", process, stdio=Stdio(stdout=str(log), stderr=str(log)))
    execute.wait(handle)
    assert "can't fork" in log.read_text()


def test_stats_report_usage(runtime, bundle, wait_for):
    bundle.sh("x=$(head -c 2000000 /dev/urandom | md5sum); sleep 30")
    started(runtime, bundle)
    stats = wait_for(lambda: (s := runtime.stats("c1")).cpu_usage_ns > 0 and s)
    assert stats.memory_usage > 0
    assert stats.pids_current >= 1
