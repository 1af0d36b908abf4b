"""Unit tests (no root): the three configuration layers, signals, paths, state files."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess

import pytest

from supernetes.runtime import config, linux, rootfs, signals, spec, specgen, validate
from supernetes.runtime.container import Container, process_start_time
from supernetes.runtime.errors import ConfigError, ContainerExists, ContainerNotFound, SignalError
from supernetes.runtime.state import StateDir, list_ids
from supernetes.runtime.sync import channel_pair


def default(**changes) -> dict:
    raw = specgen.default_spec()
    raw.update(changes)
    return raw


def converted(raw: dict, tmp_path, cid: str = "c1") -> config.Config:
    (tmp_path / "rootfs").mkdir(exist_ok=True)
    return config.from_spec(spec.parse(raw), str(tmp_path), cid)


# --- spec.py: shapes ------------------------------------------------------------------------

@pytest.mark.parametrize("mutate,message", [
    (lambda r: r["process"].update(args="sh"), "process.args: expected a list, got \"sh\""),
    (lambda r: r["process"]["user"].update(uid="0"), "process.user.uid: expected an integer"),
    (lambda r: r["linux"]["namespaces"].append({"path": "/x"}),
     "linux.namespaces[5].type: missing"),
    (lambda r: r["mounts"].append(7), "mounts[7]: expected an object, got 7"),
    (lambda r: r["root"].update(readonly="yes"), "root.readonly: expected true or false"),
    (lambda r: r.update(annotations={"a": 1}), "annotations.a: expected a string"),
    (lambda r: r["process"]["rlimits"][0].pop("hard"), "process.rlimits[0].hard: missing"),
])
def test_spec_shape_errors_name_the_json_path(mutate, message):
    raw = default()
    mutate(raw)
    with pytest.raises(ConfigError) as err:
        spec.parse(raw)
    assert message in str(err.value)


def test_spec_load_reports_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        spec.load(str(tmp_path))
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        spec.load(str(tmp_path))


def test_spec_parses_every_field_superc_honours():
    raw = default(hostname="h", domainname="d", annotations={"k": "v"})
    raw["linux"].update(
        uidMappings=[{"containerID": 0, "hostID": 1000, "size": 10}],
        sysctl={"net.ipv4.ip_forward": "1"}, rootfsPropagation="rshared",
        cgroupsPath="/pods/p1/c1",
        devices=[{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}],
        resources={"memory": {"limit": 1, "reservation": 2, "swap": 3},
                   "cpu": {"shares": 4, "quota": 5, "period": 6, "cpus": "0", "mems": "0"},
                   "pids": {"limit": 7}, "devices": [{"allow": False, "access": "rwm"}]})
    raw["hooks"] = {"poststop": [{"path": "/bin/true", "args": ["true"], "timeout": 3}]}
    s = spec.parse(raw)
    assert (s.hostname, s.domainname, s.annotations) == ("h", "d", {"k": "v"})
    assert s.linux.uid_mappings[0] == spec.IDMapping(container_id=0, host_id=1000, size=10)
    assert s.linux.resources.pids_limit == 7 and s.linux.resources.cpu_cpus == "0"
    assert s.linux.devices[0].major == 10 and s.hooks.poststop[0].timeout == 3
    assert s.process.capabilities.bounding == ["CAP_AUDIT_WRITE", "CAP_KILL",
                                               "CAP_NET_BIND_SERVICE"]


# --- config.py: meaning -------------------------------------------------------------------

def test_mount_options_become_flags_propagation_and_data():
    flags, propagation, data = config.parse_mount_options(
        ["nosuid", "ro", "rw", "noexec", "rslave", "mode=755", "size=1m", "x-ignored"])
    assert flags == linux.MS_NOSUID | linux.MS_NOEXEC  # rw cleared the ro before it
    assert propagation == (linux.MS_SLAVE | linux.MS_REC,)
    assert data == "mode=755,size=1m"


def test_rbind_is_a_recursive_bind_resolved_in_the_bundle(tmp_path):
    m = config.mount_entry(spec.Mount(destination="data", type=None, source="rel",
                                      options=["rbind", "ro"]), str(tmp_path))
    assert m.device == "bind" and m.destination == "/data"
    assert m.source == str(tmp_path / "rel")
    assert m.flags == linux.MS_BIND | linux.MS_REC | linux.MS_RDONLY


def test_namespaces_capabilities_and_rlimits_become_numbers(tmp_path):
    c = converted(default(), tmp_path)
    assert {ns.kind for ns in c.namespaces} == {
        linux.CLONE_NEWPID, linux.CLONE_NEWNET, linux.CLONE_NEWIPC, linux.CLONE_NEWUTS,
        linux.CLONE_NEWNS}
    assert c.process.caps.bounding == {5, 10, 29}
    assert c.process.caps.inheritable == frozenset()
    assert c.process.rlimits == [(linux.RLIMITS["RLIMIT_NOFILE"], 1024, 1024)]
    assert c.rootfs == str(tmp_path / "rootfs")


def test_no_capabilities_block_means_none(tmp_path):
    raw = default()
    del raw["process"]["capabilities"]
    caps = converted(raw, tmp_path).process.caps
    assert caps.bounding == caps.effective == caps.permitted == frozenset()


def test_device_rules_deny_all_then_allow_the_standard_nodes(tmp_path):
    rules = converted(default(), tmp_path).resources.devices
    assert (rules[0].allow, rules[0].type) == (False, "a")
    allowed = {(r.type, r.major, r.minor) for r in rules[1:] if r.allow}
    assert {("c", 1, 3), ("c", 1, 5), ("c", 5, 0), ("c", 136, None)} <= allowed


@pytest.mark.parametrize("mutate,message", [
    (lambda r: r["linux"]["namespaces"].append({"type": "pdi"}), "unknown namespace type 'pdi'"),
    (lambda r: r["process"]["capabilities"]["ambient"].append("CAP_NOPE"),
     "process.capabilities.ambient[3]: unknown capability 'CAP_NOPE'"),
    (lambda r: r["process"]["rlimits"].append({"type": "RLIMIT_X", "soft": 1, "hard": 1}),
     "unknown rlimit 'RLIMIT_X'"),
    (lambda r: r["process"]["rlimits"].append({"type": "RLIMIT_CORE", "soft": 2, "hard": 1}),
     "soft limit 2 is above the hard limit 1"),
    (lambda r: r["linux"].update(rootfsPropagation="sideways"), "unknown value 'sideways'"),
    (lambda r: r.pop("process"), "process: missing"),
])
def test_conversion_errors(tmp_path, mutate, message):
    raw = default()
    mutate(raw)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        converted(raw, tmp_path)


# --- validate.py: rules across fields -------------------------------------------------------

@pytest.mark.parametrize("mutate,message", [
    (lambda r: r["linux"]["namespaces"].remove({"type": "mount"}), "needs a mount namespace"),
    (lambda r: r["linux"]["namespaces"].remove({"type": "uts"}), "needs a private UTS"),
    (lambda r: r["linux"]["namespaces"].append({"type": "pid"}), "'pid' is listed twice"),
    (lambda r: r["linux"]["namespaces"].append({"type": "user"}), "needs both"),
    (lambda r: r["linux"].update(sysctl={"kernel.panic": "1"}), "is not namespaced"),
    (lambda r: r["linux"]["namespaces"].remove({"type": "network"})
     or r["linux"].update(sysctl={"net.ipv4.ip_forward": "1"}), "own network namespace"),
    (lambda r: r["process"].update(args=[]), "process.args: empty"),
    (lambda r: r["process"].update(cwd="relative"), "not an absolute path"),
    (lambda r: r["mounts"].append({"destination": "/x", "type": "bind", "source": "/nope"}),
     "bind source /nope does not exist"),
    (lambda r: r["linux"]["namespaces"][1].update(path="/no/such/netns"),
     "namespace path /no/such/netns does not exist"),
    (lambda r: r["linux"].update(devices=[{"path": "/etc/x", "type": "c"}]), "not below /dev"),
    (lambda r: r.update(hooks={"prestart": [{"path": "relative"}]}), "not an absolute path"),
])
def test_validation_rules(tmp_path, mutate, message):
    raw = copy.deepcopy(default())
    mutate(raw)
    with pytest.raises(ConfigError, match=message):
        validate.validate(converted(raw, tmp_path))


def test_a_valid_default_config_passes(tmp_path):
    validate.validate(converted(default(), tmp_path))


@pytest.mark.parametrize("cid", ["", ".", "..", "a/b", "spaces here", "ü"])
def test_invalid_container_ids(cid):
    with pytest.raises(ConfigError, match="invalid container ID"):
        validate.check_id(cid)


def test_valid_container_ids():
    for cid in ("web", "pod_1.app-2", "a+b", "X"):
        validate.check_id(cid)


# --- signals ------------------------------------------------------------------------------

@pytest.mark.parametrize("text,number", [("KILL", 9), ("SIGKILL", 9), ("kill", 9), ("9", 9),
                                         ("term", 15), ("SIGUSR1", 10), (15, 15),
                                         ("RTMIN+2", 36), ("SIGRTMAX-1", 63)])
def test_signal_names_and_numbers(text, number):
    assert signals.parse_signal(text) == number


@pytest.mark.parametrize("text", ["SIGFOO", "0", "65", "-1", "", "KILLL"])
def test_invalid_signals(text):
    with pytest.raises(SignalError, match="invalid signal"):
        signals.parse_signal(text)


# --- rootfs.secure_join: symlinks never escape the rootfs --------------------------------------

def test_secure_join_resolves_symlinks_inside_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "real" / "dir").mkdir(parents=True)
    os.symlink("/real", root / "abs")
    os.symlink("real/dir", root / "rel")
    os.symlink("../../../../etc", root / "escape")
    os.symlink("/", root / "slash")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    r = str(root)
    assert rootfs.secure_join(r, "/abs/dir") == f"{r}/real/dir"
    assert rootfs.secure_join(r, "rel/../x") == f"{r}/real/x"
    assert rootfs.secure_join(r, "/escape/passwd") == f"{r}/etc/passwd"
    assert rootfs.secure_join(r, "/slash/proc") == f"{r}/proc"
    assert rootfs.secure_join(r, "/../../x") == f"{r}/x"
    with pytest.raises(OSError, match="too many levels"):
        rootfs.secure_join(r, "/loop1/x")


# --- specgen: runc's defaults ---------------------------------------------------------------

@pytest.mark.skipif(shutil.which("runc") is None, reason="needs runc (the peer) installed")
def test_default_spec_matches_runcs(tmp_path):
    subprocess.run(["runc", "spec"], cwd=tmp_path, check=True)
    theirs = json.loads((tmp_path / "config.json").read_text())
    ours = specgen.default_spec()
    for key in ("process", "root", "mounts", "linux"):
        assert ours[key] == theirs[key], key
    assert ours["hostname"] == "superc"


def test_spec_never_overwrites(tmp_path):
    path = specgen.write_spec(str(tmp_path))
    with open(path) as f:
        assert json.load(f)["process"]["args"] == ["sh"]
    with pytest.raises(ConfigError, match="exists already"):
        specgen.write_spec(str(tmp_path))


# --- state files and status -----------------------------------------------------------------

def test_state_dir_refuses_a_taken_id_and_reports_missing_ones(tmp_path):
    root = str(tmp_path / "state")
    sd = StateDir.create(root, "c1")
    sd.write_state({"id": "c1", "status": "creating"})
    with pytest.raises(ContainerExists):
        StateDir.create(root, "c1")
    with pytest.raises(ContainerNotFound):
        StateDir.open(root, "c2")
    assert list_ids(root) == ["c1"]
    assert Container.load(root, "c1").status() == "creating"
    sd.remove()
    assert list_ids(root) == []


def test_status_is_derived_from_the_kernel_and_the_state_dir(tmp_path):
    root = str(tmp_path / "state")
    sd = StateDir.create(root, "c1")
    me = os.getpid()
    sd.write_state({"id": "c1", "status": "created", "pid": me,
                    "pid_start": process_start_time(me)})
    sd.make_fifo()
    assert Container.load(root, "c1").status() == "created"
    os.unlink(sd.file("exec.fifo"))
    assert Container.load(root, "c1").status() == "running"
    # A recycled PID (same number, other start time) is not our init.
    sd.write_state({"id": "c1", "status": "created", "pid": me, "pid_start": 1})
    assert Container.load(root, "c1").status() == "stopped"
    sd.write_state({"id": "c1", "status": "created", "pid": me,
                    "pid_start": process_start_time(me)})
    sd.write_exit({"exitCode": 137, "signal": 9, "oomKilled": True})
    state = Container.load(root, "c1").oci_state()
    assert (state["status"], state["exitCode"], state["oomKilled"], state["pid"]) == \
        ("stopped", 137, True, 0)


def test_sync_channel_carries_json_messages_in_order():
    parent, child = channel_pair()
    child.send(pid=42)
    child.send(ready=True)
    assert parent.recv() == {"pid": 42}
    assert parent.recv() == {"ready": True}
    child.close()
    assert parent.recv() is None
    parent.close()
