"""The OCI lifecycle through the real CLI: create, start, state, kill, delete, run, exec."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from prockit import alive

pytestmark = pytest.mark.root


def state(superc, cid: str) -> dict:
    result = superc("state", cid)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_create_waits_and_start_releases_the_process(superc, bundle, tmp_path, wait_for):
    marker = tmp_path / "out"
    bundle.config["root"]["readonly"] = False
    bundle.sh("echo ran > /ran; sleep 30")
    result = superc("create", "--bundle", bundle.path, "c1")
    assert result.returncode == 0, result.stderr
    created = state(superc, "c1")
    assert created["status"] == "created"
    assert created["pid"] > 0 and created["bundle"] == bundle.path
    # Created: the init exists, in its namespaces, but has not run the program yet.
    assert os.path.exists(f"/proc/{created['pid']}")
    assert not os.path.exists(os.path.join(bundle.rootfs, "ran"))
    assert superc("start", "c1").returncode == 0
    wait_for(lambda: os.path.exists(os.path.join(bundle.rootfs, "ran")))
    assert state(superc, "c1")["status"] == "running"
    assert not marker.exists()


def test_start_acts_only_on_a_created_container(superc, bundle):
    bundle.args("sleep", "30")
    superc("create", "--bundle", bundle.path, "c1", check=True)
    assert superc("start", "c1").returncode == 0
    again = superc("start", "c1")
    assert again.returncode == 1
    assert again.stderr == ("superc: cannot start container 'c1': it is running "
                            "(start only acts on a created container)\n")


def test_state_reports_stopped_with_the_exit_code(superc, bundle, wait_for):
    bundle.sh("exit 3")
    superc("create", "--bundle", bundle.path, "c1", check=True)
    superc("start", "c1", check=True)
    stopped = wait_for(lambda: (s := state(superc, "c1"))["status"] == "stopped" and s)
    assert stopped["exitCode"] == 3 and stopped["signal"] is None
    assert stopped["oomKilled"] is False and stopped["pid"] == 0


def test_delete_refuses_a_running_container_without_force(superc, bundle):
    bundle.args("sleep", "30")
    superc("create", "--bundle", bundle.path, "c1", check=True)
    superc("start", "c1", check=True)
    refused = superc("delete", "c1")
    assert refused.returncode == 1
    assert "it is running (stop it first, or use delete -f)" in refused.stderr
    assert state(superc, "c1")["status"] == "running"
    assert superc("delete", "-f", "c1").returncode == 0
    assert superc("state", "c1").returncode == 1


def test_delete_of_a_created_container_kills_its_waiting_init(superc, bundle):
    bundle.args("true")
    superc("create", "--bundle", bundle.path, "c1", check=True)
    pid = state(superc, "c1")["pid"]
    assert superc("delete", "c1").returncode == 0
    assert not alive(pid)


@pytest.mark.parametrize("signal_arg,code,signal", [
    ("TERM", 15, None), ("15", 15, None), (None, 15, None), ("usr1", 10, None),
    ("SIGUSR1", 10, None), ("SIGKILL", 137, 9), ("9", 137, 9)])
def test_kill_accepts_names_and_numbers(superc, bundle, wait_for, signal_arg, code, signal):
    # PID 1 of a namespace gets only the signals it handles (and KILL from outside):
    # the traps report which one arrived through the exit code.
    bundle.sh("trap 'exit 15' TERM; trap 'exit 10' USR1; sleep 30 & wait")
    superc("create", "--bundle", bundle.path, "c1", check=True)
    superc("start", "c1", check=True)
    args = ["kill", "c1"] + ([signal_arg] if signal_arg else [])
    assert superc(*args).returncode == 0
    stopped = wait_for(lambda: (s := state(superc, "c1"))["status"] == "stopped" and s)
    assert (stopped["exitCode"], stopped["signal"]) == (code, signal)


def test_kill_rejects_an_unknown_signal(superc, run_detached, bundle):
    bundle.args("sleep", "30")
    run_detached("c1")
    for bad in ("SIGFOO", "0", "99"):
        result = superc("kill", "c1", bad)
        assert result.returncode == 1
        assert result.stderr == f"superc: invalid signal '{bad}'\n"
    assert state(superc, "c1")["status"] == "running"


def test_kill_all_signals_every_process(superc, bundle, wait_for):
    # sh ignores TERM as PID 1 of its namespace; its children die, so it is the last one.
    bundle.sh("sleep 30 & sleep 30 & wait")
    superc("create", "--bundle", bundle.path, "c1", check=True)
    superc("start", "c1", check=True)
    wait_for(lambda: len(json.loads(superc("ps", "--format", "json", "c1").stdout)) == 3)
    assert superc("kill", "--all", "c1", "KILL").returncode == 0
    assert wait_for(lambda: state(superc, "c1")["status"] == "stopped")


def test_kill_of_a_stopped_container_fails(superc, bundle, wait_for):
    superc("create", "--bundle", bundle.path, "c1", check=True)
    superc("start", "c1", check=True)
    wait_for(lambda: state(superc, "c1")["status"] == "stopped")
    result = superc("kill", "c1", "KILL")
    assert result.returncode == 1
    assert result.stderr == "superc: cannot kill container 'c1': it is not running\n"


@pytest.mark.parametrize("script,code", [("exit 0", 0), ("exit 42", 42),
                                         ("sh -c 'kill -9 $$'; exit $?", 137)])
def test_run_passes_the_exit_code_through(superc, bundle, script, code):
    bundle.sh(script)
    assert superc("run", "--bundle", bundle.path, "c1").returncode == code
    assert superc("list", "-q").stdout == ""  # run deleted it


def test_run_exits_128_plus_the_signal_that_killed_the_init(superc, superc_argv, bundle,
                                                            wait_for):
    bundle.sh("echo ready; exec sleep 30")
    proc = subprocess.Popen([*superc_argv, "run", "--bundle", bundle.path, "c1"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    assert superc("kill", "c1", "KILL").returncode == 0
    assert proc.wait(timeout=20) == 137
    proc.stdout.close()


def test_run_detached_leaves_it_running(superc, bundle, tmp_path):
    bundle.args("sleep", "30")
    pid_file = tmp_path / "pid"
    result = superc("run", "-d", "--pid-file", str(pid_file), "--bundle", bundle.path, "c1")
    assert result.returncode == 0, result.stderr
    st = state(superc, "c1")
    assert st["status"] == "running" and int(pid_file.read_text()) == st["pid"]


def test_list_in_table_and_json(superc, bundle):
    bundle.args("sleep", "30")
    superc("create", "--bundle", bundle.path, "one", check=True)
    superc("create", "--bundle", bundle.path, "two", check=True)
    superc("start", "two", check=True)
    table = superc("list").stdout.splitlines()
    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    rows = {line.split()[0]: line.split()[2] for line in table[1:]}
    assert rows == {"one": "created", "two": "running"}
    listed = json.loads(superc("list", "--format", "json").stdout)
    assert {s["id"]: s["status"] for s in listed} == rows


def test_nothing_of_the_container_remains_after_delete(superc, bundle, state_root):
    bundle.args("sleep", "30")
    superc("create", "--bundle", bundle.path, "c1", check=True)
    superc("start", "c1", check=True)
    with open(os.path.join(state_root, "c1", "state.json")) as f:
        saved = json.load(f)
    pids = [saved["pid"], saved["monitor_pid"]]
    assert all(alive(pid) for pid in pids)
    assert all(os.path.isdir(p) for p in saved["cgroup_paths"].values())
    assert superc("delete", "-f", "c1").returncode == 0
    assert not os.path.exists(os.path.join(state_root, "c1"))
    assert not any(os.path.exists(p) for p in saved["cgroup_paths"].values())
    assert not any(alive(pid) for pid in pids)
    with open("/proc/self/mountinfo") as f:
        assert bundle.path not in f.read()


def test_stdio_goes_to_the_files_the_caller_names(runtime, bundle, tmp_path):
    from supernetes.runtime.stdio import Stdio

    out, err = tmp_path / "out.log", tmp_path / "err.log"
    bundle.sh("echo to-out; echo to-err >&2; exit 5")
    runtime.create("c1", bundle.path, stdio=Stdio(stdout=str(out), stderr=str(err)))
    runtime.start("c1")
    record = runtime.wait("c1", timeout=20)
    assert record["exitCode"] == 5
    assert out.read_text() == "to-out\n" and err.read_text() == "to-err\n"
    runtime.delete("c1")


def test_exec_runs_in_the_containers_namespaces_and_cgroup(superc, run_detached, bundle):
    bundle.args("sleep", "30")
    run_detached("c1")
    init = state(superc, "c1")["pid"]
    result = superc("exec", "c1", "--", "sh", "-c",
                    "echo $$; for n in ipc mnt net pid uts cgroup; do "
                    "readlink /proc/self/ns/$n; done; sleep 0.2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert lines[0] != "1" and int(lines[0]) < 10  # a small PID: the container's namespace
    for name, link in zip(("ipc", "mnt", "net", "pid", "uts", "cgroup"), lines[1:], strict=True):
        assert link == os.readlink(f"/proc/{init}/ns/{name}"), name
        if name != "cgroup":
            assert link != os.readlink(f"/proc/self/ns/{name}"), name


def test_exec_joins_the_containers_cgroup(superc, run_detached, bundle, state_root):
    bundle.args("sleep", "30")
    run_detached("c1")
    result = superc("exec", "-d", "--pid-file", os.path.join(state_root, "exec.pid"), "c1",
                    "--", "sleep", "20")
    assert result.returncode == 0, result.stderr
    with open(os.path.join(state_root, "exec.pid")) as f:
        pid = int(f.read())
    with open(os.path.join(state_root, "c1", "state.json")) as f:
        pids_dir = json.load(f)["cgroup_paths"]["pids"]
    with open(os.path.join(pids_dir, "cgroup.procs")) as f:
        assert str(pid) in f.read().split()
    assert superc("delete", "-f", "c1").returncode == 0
    assert not alive(pid)


def test_exec_exit_code_env_cwd_and_user(superc, run_detached, bundle):
    bundle.args("sleep", "30")
    run_detached("c1")
    result = superc("exec", "-e", "GREETING=hi", "--cwd", "/dev", "-u", "1000:1000", "c1",
                    "--", "sh", "-c", "echo $GREETING $(pwd) $(id -u) $(id -g); exit 9")
    assert result.returncode == 9
    assert result.stdout.split() == ["hi", "/dev", "1000", "1000"]


def test_exec_with_an_oci_process_file(superc, run_detached, bundle, tmp_path):
    bundle.args("sleep", "30")
    run_detached("c1")
    process = {"args": ["sh", "-c", "echo $FROM_FILE; grep NoNewPrivs /proc/self/status"],
               "env": ["FROM_FILE=yes"], "cwd": "/", "user": {"uid": 0, "gid": 0},
               "noNewPrivileges": False}
    (tmp_path / "process.json").write_text(json.dumps(process))
    result = superc("exec", "--process", str(tmp_path / "process.json"), "c1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["yes", "NoNewPrivs:", "0"]


def test_exec_with_a_terminal(superc, run_detached, bundle):
    bundle.args("sleep", "30")
    run_detached("c1")
    result = superc("exec", "-t", "c1", "--", "sh", "-c", "tty; stty size")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].strip() == "/dev/pts/0"


def test_run_with_a_terminal_proxies_it(superc, bundle):
    bundle.config["process"]["terminal"] = True
    bundle.sh("tty; readlink /proc/self/fd/0; echo done")
    result = superc("run", "--bundle", bundle.path, "c1")
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines == ["/dev/pts/0", "/dev/pts/0", "done"]


def test_create_with_a_terminal_needs_a_console_socket(superc, bundle, state_root):
    bundle.config["process"]["terminal"] = True
    bundle.save()
    result = superc("create", "--bundle", bundle.path, "c1")
    assert result.returncode == 1
    assert "--console-socket" in result.stderr
    assert not os.path.exists(os.path.join(state_root, "c1"))


def test_ps_lists_the_containers_processes(superc, run_detached, bundle, wait_for):
    bundle.sh("sleep 30 & sleep 31")
    run_detached("c1")
    table = wait_for(lambda: (out := superc("ps", "c1").stdout).count("sleep") == 2 and out)
    assert table.splitlines()[0].split() == ["PID", "CMD"]
    assert "sleep 30" in table and "sleep 31" in table


def test_spec_writes_runcs_defaults_and_never_overwrites(superc, tmp_path):
    result = superc("spec", "--bundle", str(tmp_path), root=False)
    assert result.returncode == 0, result.stderr
    spec = json.loads((tmp_path / "config.json").read_text())
    assert spec["process"]["noNewPrivileges"] is True
    assert spec["root"] == {"path": "rootfs", "readonly": True}
    assert "/proc/kcore" in spec["linux"]["maskedPaths"]
    again = superc("spec", "--bundle", str(tmp_path), root=False)
    assert again.returncode == 1 and "exists already" in again.stderr


def test_run_forwards_sigterm_to_the_container(superc_argv, bundle, wait_for):
    bundle.sh("trap 'echo got TERM; exit 4' TERM; echo ready; sleep 30 & wait")
    proc = subprocess.Popen([*superc_argv, "run", "--bundle", bundle.path, "c1"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    proc.terminate()
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 4
    assert out == "got TERM\n"
