"""OCI bundles from image configs: the mapping rules, and runc really running the result."""

import json
import os
import subprocess
import uuid

import pytest

from supernetes.rootfs import bundle
from supernetes.rootfs.errors import BundleError
from supernetes.rootfs.oci import ImageConfig


def _image(**config) -> ImageConfig:
    return ImageConfig({"architecture": "amd64", "os": "linux", "config": config,
                        "rootfs": {"type": "layers", "diff_ids": []}})


@pytest.fixture
def rootfs(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                     "app:x:1000:1000::/home/app:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\napp:x:1000:\nwheel:x:10:app,other\n"
                                    "video:x:44:app\n")
    return str(root)


@pytest.mark.parametrize("config, overrides, expected", [
    ({"Entrypoint": ["/init"], "Cmd": ["--serve"]}, {}, ["/init", "--serve"]),
    ({"Cmd": ["sh"]}, {}, ["sh"]),
    ({"Entrypoint": ["/init"], "Cmd": ["--serve"]}, {"args": ["--debug"]}, ["/init", "--debug"]),
    ({"Entrypoint": ["/init"], "Cmd": ["--serve"]}, {"command": ["/bin/sh"]}, ["/bin/sh"]),
    ({"Entrypoint": ["/init"], "Cmd": ["--serve"]}, {"command": ["/bin/sh"], "args": ["-c", "x"]},
     ["/bin/sh", "-c", "x"]),
])
def test_command_and_args_override_like_kubernetes(config, overrides, expected):
    assert bundle.process_args(config, bundle.Overrides(**overrides)) == expected


def test_an_image_without_a_command_needs_one():
    with pytest.raises(BundleError, match="no command to run"):
        bundle.process_args({}, bundle.Overrides())


def test_environment_merges_image_and_overrides_and_keeps_a_path():
    env = bundle.process_env({"Env": ["A=1", "B=2"]}, bundle.Overrides(env={"B": "3", "C": "4"}))
    assert env == ["A=1", "B=3", "C=4", f"PATH={bundle.DEFAULT_PATH}"]
    own_path = bundle.process_env({"Env": ["PATH=/opt/bin"]}, bundle.Overrides())
    assert own_path == ["PATH=/opt/bin"]


@pytest.mark.parametrize("spec, expected", [
    (None, {"uid": 0, "gid": 0}),
    ("1000", {"uid": 1000, "gid": 1000, "additionalGids": [10, 44]}),
    ("app", {"uid": 1000, "gid": 1000, "additionalGids": [10, 44]}),
    ("app:wheel", {"uid": 1000, "gid": 10, "additionalGids": [44]}),
    ("4242:4343", {"uid": 4242, "gid": 4343}),
    ("root", {"uid": 0, "gid": 0}),
])
def test_users_resolve_in_the_images_own_passwd_and_group(rootfs, spec, expected):
    assert bundle.resolve_user(rootfs, spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("ghost", "user 'ghost' is not in the image's /etc/passwd"),
    ("app:ghosts", "group 'ghosts' is not in the image's /etc/group"),
])
def test_unknown_users_and_groups_are_errors(rootfs, spec, message):
    with pytest.raises(BundleError, match=message):
        bundle.resolve_user(rootfs, spec)


def test_a_symlinked_passwd_is_not_followed_out_of_the_rootfs(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    os.symlink("/etc/passwd", root / "etc/passwd")  # the host's: must not be read
    with pytest.raises(BundleError, match="user 'root' is not in"):
        bundle.resolve_user(str(root), "root")
    assert bundle.resolve_user(str(root), "0") == {"uid": 0, "gid": 0}


def test_the_spec_carries_cwd_annotations_and_drops_caps_for_non_root(rootfs):
    image = _image(Cmd=["sh"], WorkingDir="/srv", User="app", Labels={"team": "infra"},
                   ExposedPorts={"80/tcp": {}, "53/udp": {}}, StopSignal="SIGQUIT")
    spec = bundle.generate(image, rootfs, bundle.Overrides(hostname="web-1"),
                           root_path="rootfs")
    assert spec["process"]["cwd"] == "/srv"
    assert spec["process"]["user"]["uid"] == 1000
    assert spec["process"]["capabilities"]["effective"] == []
    assert spec["process"]["capabilities"]["bounding"] == bundle.DEFAULT_CAPS
    assert spec["annotations"]["team"] == "infra"
    assert spec["annotations"]["org.opencontainers.image.exposedPorts"] == "53/udp,80/tcp"
    assert spec["annotations"]["org.opencontainers.image.stopSignal"] == "SIGQUIT"
    assert spec["hostname"] == "web-1" and spec["root"] == {"path": "rootfs",
                                                           "readonly": False}
    with pytest.raises(BundleError, match="not absolute"):
        bundle.generate(_image(Cmd=["sh"]), rootfs, bundle.Overrides(working_dir="srv"))


def _runc(bundle_dir: str, tmp_path) -> subprocess.CompletedProcess:
    """runc run in the foreground; the cgroup is relative, so it lands below this session's."""
    config_path = os.path.join(bundle_dir, "config.json")
    with open(config_path) as f:
        spec = json.load(f)
    container_id = f"rootfs-test-{uuid.uuid4().hex[:10]}"
    spec["linux"]["cgroupsPath"] = container_id
    with open(config_path, "w") as f:
        json.dump(spec, f)
    result = subprocess.run(["runc", "--root", str(tmp_path / "runc-state"), "run",
                             "--bundle", bundle_dir, container_id],
                            capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    subprocess.run(["runc", "--root", str(tmp_path / "runc-state"), "delete", "--force",
                    container_id], capture_output=True)
    return result


SCRIPT = "echo hello from $(hostname); id -u; id -g; cat /etc/hostname; " \
         "echo written > /tmp/by-container; echo pid=$$"


@pytest.mark.root
def test_runc_runs_a_bundle_on_an_overlay_snapshot(service, busybox_layout, tmp_path):
    service.import_(busybox_layout, name="localhost/busybox:latest")
    bundle_dir = str(tmp_path / "bundle")
    overrides = bundle.Overrides(command=["sh", "-c", SCRIPT], hostname="box", user="nobody")
    service.create_bundle("localhost/busybox:latest", bundle_dir, "ctr-overlay", overrides)
    try:
        result = _runc(bundle_dir, tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == ["hello from box", "65534", "65534", "busybox",
                                              "pid=1"]
        upper = os.path.join(service.store.root, "containers/ctr-overlay/upper")
        with open(os.path.join(upper, "tmp/by-container")) as f:
            assert f.read() == "written\n"  # the write went to this container's upper dir
    finally:
        service.release_rootfs("ctr-overlay")


@pytest.mark.root
def test_runc_runs_a_flattened_copy_bundle(service, busybox_layout, tmp_path):
    service.import_(busybox_layout, name="localhost/busybox:latest")
    bundle_dir = str(tmp_path / "bundle")
    service.create_bundle("localhost/busybox:latest", bundle_dir,
                          overrides=bundle.Overrides(args=["-c", "ls /bin | wc -l"],
                                                     command=["sh"]), copy=True)
    result = _runc(bundle_dir, tmp_path)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 200  # busybox and its applets
