"""Suite-wide pytest setup: capability skips and the leak check.

Markers (declared in setup.cfg) say what a test needs; a test whose needs this
machine cannot meet is skipped with the reason, never silently passed. Every test
marked `root` runs under the leak check (tests/support/leakcheck.py).
"""

import os
import shutil
import signal

import pytest
from leakcheck import LeakCheck


def _cgroup_v1_available() -> bool:
    return os.path.exists("/sys/fs/cgroup/memory/tasks") or os.path.exists(
        "/sys/fs/cgroup/memory/cgroup.procs"
    )


def _cgroup_v2_available() -> bool:
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            return {"memory", "pids"} <= set(f.read().split())
    except OSError:
        return False


NEEDS = {
    "root": (lambda: os.geteuid() == 0, "needs root (real namespaces, mounts and cgroups)"),
    "netns": (lambda: shutil.which("ip") is not None, "needs iproute2 (`ip`)"),
    "cgroup_v1": (_cgroup_v1_available, "needs cgroup v1 controllers under /sys/fs/cgroup"),
    "cgroup_v2": (_cgroup_v2_available,
                  "needs cgroup v2 controllers; runs inside the VM harness (tests/vm)"),
}


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(LeakCheck(), "supernetes-leakcheck")
    # A background job of a non-interactive shell (`make test &`) starts with SIGINT
    # ignored, and an ignored signal stays ignored across fork and exec: the CLIs the
    # tests start would never see the ^C some tests send them. A handler of our own
    # is reset to the default in every child at exec.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker, (available, reason) in NEEDS.items():
            if item.get_closest_marker(marker) and not available():
                item.add_marker(pytest.mark.skip(reason=reason))
