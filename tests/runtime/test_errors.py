"""Bad input: one clear line on stderr, a non-zero exit, and nothing left behind."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = pytest.mark.root


def leftovers(state_root: str, cid: str) -> list[str]:
    """Anything of container `cid` that exists on this machine."""
    found = []
    if os.path.exists(os.path.join(state_root, cid)):
        found.append("state directory")
    name = f"superc-{cid}"
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in filter(None, controllers.split(",")):
                directory = f"/sys/fs/cgroup/{controller.removeprefix('name=')}{path}"
                if os.path.isdir(os.path.join(directory, name)):
                    found.append(f"cgroup {directory}/{name}")
    with open("/proc/self/mountinfo") as f:
        if state_root.rsplit("/", 1)[0] in f.read():
            found.append("a mount")
    return found


def assert_one_clean_line(result, *needles: str) -> None:
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("superc: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_config_json(superc, tmp_path, state_root):
    result = superc("create", "--bundle", str(tmp_path), "c1")
    assert_one_clean_line(result, "config.json: no such file")
    assert leftovers(state_root, "c1") == []


@pytest.mark.parametrize("content,needle", [
    ("{not json", "not valid JSON"),
    ('{"root": {"path": "rootfs"}, "process": {"args": "sh"}}', "process.args: expected a list"),
    ('{"root": {"path": "rootfs"}, "process": {"args": [1]}}',
     "process.args[0]: expected a string"),
    ('{"process": {"args": ["sh"]}}', "root: missing"),
    ('{"root": {"path": "rootfs"}}', "process: missing"),
])
def test_malformed_config_json(superc, bundle, state_root, content, needle):
    with open(os.path.join(bundle.path, "config.json"), "w") as f:
        f.write(content)
    result = superc("create", "--bundle", bundle.path, "c1")
    assert_one_clean_line(result, needle)
    assert leftovers(state_root, "c1") == []


def test_unknown_namespace_type(superc, bundle, state_root):
    bundle.config["linux"]["namespaces"].append({"type": "pdi"})
    bundle.save()
    result = superc("run", "--bundle", bundle.path, "c1")
    assert_one_clean_line(result, "unknown namespace type 'pdi'")
    assert leftovers(state_root, "c1") == []


def test_missing_rootfs(superc, bundle, state_root):
    bundle.config["root"]["path"] = "no-such-rootfs"
    bundle.save()
    result = superc("create", "--bundle", bundle.path, "c1")
    assert_one_clean_line(result, "no-such-rootfs does not exist")
    assert leftovers(state_root, "c1") == []


def test_an_id_that_exists(superc, bundle, state_root):
    bundle.args("sleep", "30")
    assert superc("create", "--bundle", bundle.path, "c1").returncode == 0
    pid = json.loads(superc("state", "c1").stdout)["pid"]
    result = superc("create", "--bundle", bundle.path, "c1")
    assert_one_clean_line(result, "container 'c1' already exists")
    # ...and the existing container was not touched.
    assert json.loads(superc("state", "c1").stdout)["pid"] == pid


@pytest.mark.parametrize("command", [["start"], ["state"], ["kill"], ["delete"], ["delete", "-f"],
                                     ["ps"], ["pause"], ["resume"], ["exec"],
                                     ["update", "--memory", "64m"]])
def test_an_id_that_does_not_exist(superc, command):
    args = [*command, "ghost"] + (["--", "true"] if command == ["exec"] else [])
    result = superc(*args)
    assert_one_clean_line(result, "container 'ghost' does not exist")


def test_an_invalid_id(superc, bundle, state_root):
    result = superc("create", "--bundle", bundle.path, "../escape")
    assert_one_clean_line(result, "invalid container ID")
    assert not os.path.exists(os.path.join(os.path.dirname(state_root), "escape"))


def test_a_missing_program_fails_create_not_start(superc, bundle, state_root):
    bundle.args("no-such-program")
    result = superc("create", "--bundle", bundle.path, "c1")
    assert_one_clean_line(result, 'exec: "no-such-program": executable file not found in $PATH')
    assert leftovers(state_root, "c1") == []


def test_a_failing_mount_leaves_nothing(superc, bundle, state_root):
    bundle.config["mounts"].append({"destination": "/bad", "type": "nosuchfs",
                                    "source": "none"})
    bundle.save()
    result = superc("run", "--bundle", bundle.path, "c1")
    assert_one_clean_line(result, "preparing the rootfs", "No such device")
    assert leftovers(state_root, "c1") == []


def test_a_sysctl_outside_the_containers_namespaces(superc, bundle, state_root):
    bundle.config["linux"]["sysctl"] = {"vm.swappiness": "10"}
    bundle.save()
    result = superc("create", "--bundle", bundle.path, "c1")
    assert_one_clean_line(result, "vm.swappiness is not namespaced")
    assert leftovers(state_root, "c1") == []


def test_an_unknown_capability(superc, bundle, state_root):
    bundle.config["process"]["capabilities"]["bounding"].append("CAP_FLY")
    bundle.save()
    result = superc("create", "--bundle", bundle.path, "c1")
    assert_one_clean_line(result, "unknown capability 'CAP_FLY'")
    assert leftovers(state_root, "c1") == []


def test_an_unmappable_limit_fails_cleanly(superc, bundle, state_root):
    bundle.config["linux"]["resources"]["cpu"] = {"cpus": "0-999"}
    bundle.save()
    result = superc("create", "--bundle", bundle.path, "c1")
    assert_one_clean_line(result, "cgroup for 'c1'")
    assert leftovers(state_root, "c1") == []


def test_update_with_nothing_to_change(superc, run_detached, bundle):
    bundle.args("sleep", "30")
    run_detached("c1")
    assert_one_clean_line(superc("update", "c1"), "nothing to change")
    assert_one_clean_line(superc("update", "--memory", "lots", "c1"), "--memory 'lots'")


def test_an_unopenable_log_file_fails_cleanly(runtime, bundle, tmp_path, state_root):
    from supernetes.runtime.errors import CreateError
    from supernetes.runtime.stdio import Stdio

    with pytest.raises(CreateError, match="stdio: Is a directory"):
        runtime.create("c1", bundle.path, stdio=Stdio(stdout=str(tmp_path)))
    assert leftovers(state_root, "c1") == []
