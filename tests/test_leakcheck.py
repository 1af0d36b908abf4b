"""The leak check really catches leaks, reports them against the test, and cleans up."""

import os
import re
import subprocess
import sys
import textwrap
import uuid

import pytest

SUPPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "support")

LEAKY = '''
import os, subprocess, pytest

@pytest.mark.root
@pytest.mark.netns
def test_leaks_everything(tmp_path):
    subprocess.run(["ip", "netns", "add", "{netns}"], check=True)
    target = tmp_path / "mnt"
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(target)], check=True)
    subprocess.Popen(["sleep", "300"], start_new_session=True)
    with open("/proc/self/cgroup") as f:
        own = [l.split(":", 2)[2].strip() for l in f if l.split(":")[1] == "pids"][0]
    os.mkdir(f"/sys/fs/cgroup/pids{{own}}/{cgroup}")

@pytest.mark.root
def test_clean(tmp_path):
    (tmp_path / "file").write_text("files under tmp_path are fine")

@pytest.mark.root
def test_a_short_command_still_running_at_the_end_is_not_a_leak(tmp_path):
    # Like a fixture's daemon running `nft list tables` just as the test ends.
    subprocess.Popen(["sleep", "0.5"])

@pytest.mark.root
def test_another_sessions_netns_is_not_ours(tmp_path):
    # Not marked netns: a namespace appearing meanwhile belongs to someone else.
    subprocess.run(["ip", "netns", "add", "{other}"], check=True)
'''

CONFTEST = '''
from leakcheck import LeakCheck

def pytest_configure(config):
    config.pluginmanager.register(LeakCheck(), "leakcheck")
'''


@pytest.mark.root
@pytest.mark.netns
@pytest.mark.cgroup_v1
def test_a_leaking_test_fails_with_what_it_left_and_the_leak_is_removed(tmp_path):
    name = f"sn-leak-{uuid.uuid4().hex[:8]}"
    other = f"sn-other-{uuid.uuid4().hex[:8]}"
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent(LEAKY.format(netns=name, cgroup=name,
                                                                        other=other)))
    (tmp_path / "conftest.py").write_text(CONFTEST)
    env = dict(os.environ, PYTHONPATH=SUPPORT)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir",
         str(tmp_path), "--basetemp", str(tmp_path / "base"), str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    out = result.stdout
    subprocess.run(["ip", "netns", "delete", other], capture_output=True)
    assert other not in out, "another session's netns was reported (and deleted) as a leak"
    assert result.returncode == 1, out + result.stderr
    assert "1 error" in out
    assert "ERROR test_leaky.py::test_leaks_everything" in out
    assert "ERROR test_leaky.py::test_clean" not in out
    assert "ERROR test_leaky.py::test_another_sessions_netns_is_not_ours" not in out
    assert "ERROR test_leaky.py::test_a_short_command_still_running_at_the_end" not in out
    assert "sleep 0.5" not in out
    for what in ("netns:", name, "mounts:", "(tmpfs)", "processes:", "sleep 300", "cgroups:"):
        assert what in out, f"{what!r} not reported:\n{out}"
    assert name not in os.listdir("/run/netns")
    # The very process that leaked is gone (other sessions may run a `sleep 300` too).
    leaked_pid = re.search(r"(\d+) sleep 300", out).group(1)
    assert not os.path.exists(f"/proc/{leaked_pid}/cmdline") or \
        open(f"/proc/{leaked_pid}/cmdline", "rb").read() != b"sleep\x00300\x00"


MACHINE = '''
import subprocess, time, pytest

@pytest.fixture(scope="module")
def machine():
    # a lab machine in miniature: PID 1 of a namespace of its own, forking now and then
    proc = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
                             "sh", "-c", "while :; do sleep 0.05 & sleep 0.05; done"])
    time.sleep(0.3)
    yield proc
    proc.kill()
    proc.wait()

@pytest.mark.root
def test_uses_the_machine(machine):
    time.sleep(0.5)   # the machine's children come and go meanwhile

@pytest.mark.root
def test_leaks_a_process_of_its_own(machine):
    subprocess.Popen(["sleep", "301"], start_new_session=True)
'''


@pytest.mark.root
def test_processes_inside_a_machine_that_predates_the_test_are_not_its_leaks(tmp_path):
    (tmp_path / "test_machine.py").write_text(MACHINE)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    env = dict(os.environ, PYTHONPATH=SUPPORT)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir",
         str(tmp_path), "--basetemp", str(tmp_path / "base"), str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    out = result.stdout
    assert "ERROR test_machine.py::test_uses_the_machine" not in out, out
    assert "ERROR test_machine.py::test_leaks_a_process_of_its_own" in out, out
    assert "sleep 301" in out and "sleep 0.05" not in out
