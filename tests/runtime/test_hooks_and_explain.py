"""OCI hooks run at their moments with the state on stdin; --explain shows every step."""

from __future__ import annotations

import json
import os

import pytest

from supernetes.runtime.cgroups.factory import UNIFIED, detect_mode

pytestmark = pytest.mark.root


def host_hook(tmp_path, kind: str, log: str, exit_code: int = 0) -> dict:
    """A hook that runs in the runtime's namespaces: appends its kind and stdin to `log`."""
    script = tmp_path / f"{kind}.sh"
    script.write_text(f"#!/bin/sh\n/bin/echo {kind} $(/bin/cat) >> {log}\nexit {exit_code}\n")
    script.chmod(0o755)
    return {"path": str(script), "args": [f"{kind}.sh"], "env": ["HOOK_KIND=" + kind]}


def read_log(path) -> list[tuple[str, dict]]:
    entries = []
    for line in path.read_text().splitlines():
        kind, _, payload = line.partition(" ")
        entries.append((kind, json.loads(payload)))
    return entries


def test_every_hook_runs_in_order_with_the_state_on_stdin(superc, bundle, tmp_path, wait_for):
    log = tmp_path / "hooks.log"
    shared = tmp_path / "shared"
    shared.mkdir()
    bundle.config["mounts"].append({"destination": "/hooks", "type": "bind",
                                    "source": str(shared), "options": ["rbind"]})
    bundle.config["hooks"] = {
        kind: [host_hook(tmp_path, kind, str(log))]
        for kind in ("createRuntime", "prestart", "createContainer", "poststart", "poststop")}
    # startContainer runs inside the container, after pivot_root: its path is the
    # container's /bin/sh, and it writes where the host can see it.
    bundle.config["hooks"]["startContainer"] = [
        {"path": "/bin/sh", "args": ["sh", "-c", "cat > /hooks/startContainer.json"]}]
    bundle.config["annotations"] = {"org.example/owner": "tests"}
    bundle.args("sleep", "30")
    assert superc("create", "--bundle", bundle.path, "c1").returncode == 0
    pid = json.loads(superc("state", "c1").stdout)["pid"]
    created = read_log(log)
    assert [kind for kind, _ in created] == ["createRuntime", "prestart", "createContainer"]
    for _kind, state in created:
        assert state["id"] == "c1" and state["bundle"] == bundle.path
        assert state["annotations"] == {"org.example/owner": "tests"}
    assert created[0][1]["pid"] == pid  # runtime-namespace hooks see the host's PID

    assert superc("start", "c1").returncode == 0
    started = read_log(log)
    assert started[-1][0] == "poststart" and started[-1][1]["status"] == "running"
    # The init runs startContainer after `start` returned: wait for its output.
    written = shared / "startContainer.json"
    inside = json.loads(wait_for(lambda: written.exists() and written.read_text()))
    assert inside["pid"] == 1 and inside["id"] == "c1"

    assert superc("delete", "-f", "c1").returncode == 0
    kind, state = read_log(log)[-1]
    assert kind == "poststop" and state["status"] == "stopped"


def test_a_failing_prestart_hook_fails_create_and_leaves_nothing(superc, bundle, tmp_path,
                                                                 state_root):
    log = tmp_path / "hooks.log"
    bundle.config["hooks"] = {"prestart": [host_hook(tmp_path, "prestart", str(log), 3)]}
    bundle.save()
    result = superc("create", "--bundle", bundle.path, "c1")
    assert result.returncode == 1
    assert result.stderr.endswith("prestart hook " + str(tmp_path / "prestart.sh")
                                  + " exited with status 3\n")
    assert log.read_text().startswith("prestart ")
    assert not os.path.exists(os.path.join(state_root, "c1"))


def test_a_hook_that_hangs_is_killed_after_its_timeout(superc, bundle, tmp_path, state_root):
    script = tmp_path / "slow.sh"
    script.write_text("#!/bin/sh\nexec /bin/sleep 30\n")
    script.chmod(0o755)
    bundle.config["hooks"] = {"createRuntime": [{"path": str(script), "timeout": 1}]}
    bundle.save()
    result = superc("create", "--bundle", bundle.path, "c1", timeout=20)
    assert result.returncode == 1
    assert "timed out after 1s" in result.stderr
    assert not os.path.exists(os.path.join(state_root, "c1"))


def test_a_failing_poststart_hook_is_only_a_warning(superc, bundle, tmp_path):
    bundle.config["hooks"] = {"poststart": [host_hook(tmp_path, "poststart",
                                                      str(tmp_path / "log"), 1)]}
    bundle.args("sleep", "30")
    superc("create", "--bundle", bundle.path, "c1", check=True)
    result = superc("start", "c1")
    assert result.returncode == 0
    assert "warning: poststart hook" in result.stderr
    assert json.loads(superc("state", "c1").stdout)["status"] == "running"


def test_explain_prints_each_primitive_step(superc, bundle):
    bundle.args("true")
    result = superc("--explain", "run", "--bundle", bundle.path, "c1")
    assert result.returncode == 0, result.stderr
    trace = result.stderr.splitlines()
    assert all(line.startswith("superc") for line in trace)

    def index(needle: str) -> int:
        return next(i for i, line in enumerate(trace) if needle in line)

    steps = [
        "mkdir /sys/fs/cgroup/",                                   # the cgroup
        "prctl(PR_SET_CHILD_SUBREAPER, 1)",                        # the monitor
        "unshare(CLONE_NEWPID)",                                   # for the monitor's child
        "unshare(CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWNET)",
        'mount(NULL, "/", NULL, MS_REC|MS_SLAVE, NULL)',
        'mount("proc", ',
        'mknod("',
        'pivot_root(".", ".")',
        'umount2(".", MNT_DETACH)',
        'sethostname("superc-test")',
        "prctl(PR_CAPBSET_DROP, cap) for {CAP_CHOWN",
        "capset(effective={CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE}",
        "prctl(PR_SET_NO_NEW_PRIVS, 1)",
        'write(exec.fifo, b\'0\')',                               # start releases the init
        'execve("/bin/true", ["true"]',
        "rmdir /sys/fs/cgroup/",                                   # delete
    ]
    positions = [index(step) for step in steps]
    assert positions == sorted(positions), list(zip(steps, positions, strict=True))
    # The caller's own line for the fork that made the monitor races the monitor's
    # first lines on the shared stderr: it is only ordered within the caller's steps.
    assert index("mkdir /sys/fs/cgroup/") < index("fork() = ") < index("write(exec.fifo")
    if detect_mode() == UNIFIED:
        # The monitor moves the init into the cgroup while the init sets itself up.
        init_pid = trace[index("[init, PID 1")].split("fork() = ")[1].split()[0]
        joins = [line for line in trace if line.endswith(f"cgroup.procs = {init_pid}")]
        assert joins and all(line.startswith("superc monitor: ") for line in joins)
    else:
        # v1: the init moves itself, thread-wise (no RCU wait), before its namespaces.
        joins = [i for i, line in enumerate(trace) if line.endswith("/tasks = 0")]
        assert joins and all(trace[i].startswith("superc init: ") for i in joins)
        assert max(joins) < index("unshare(CLONE_NEWNS|")
    assert any(line.startswith("superc init: ") for line in trace)


def test_explain_on_create_start_and_exec(superc, bundle):
    bundle.args("sleep", "30")
    created = superc("create", "--explain", "--bundle", bundle.path, "c1")
    assert 'pivot_root(".", ".")' in created.stderr
    started = superc("start", "--explain", "c1")
    assert 'open("' in started.stderr and "exec.fifo" in started.stderr
    executed = superc("exec", "--explain", "c1", "--", "true")
    assert executed.returncode == 0
    assert "setns(open(\"/proc/" in executed.stderr and "CLONE_NEWPID" in executed.stderr
    quiet = superc("exec", "c1", "--", "true")
    assert quiet.stderr == ""
