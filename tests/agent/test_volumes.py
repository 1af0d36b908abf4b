"""Pod volumes on the node: emptyDir, hostPath, configMap, secret, downwardAPI, projected."""

import base64
import os
import subprocess

import pytest

from supernetes.agent.volumes import VolumeError, VolumeManager, write_atomically


@pytest.fixture
def api():
    objects = {
        ("configmap", "default", "app-config"): {"data": {"app.conf": "mode=fast\n",
                                                          "level": "3"}},
        ("secret", "default", "creds"): {"data": {"password": base64.b64encode(b"s3cret")
                                                  .decode()}},
    }
    return objects


@pytest.fixture
def manager(tmp_path, api):
    return VolumeManager(str(tmp_path / "pods"),
                         get_configmap=lambda ns, n: api.get(("configmap", ns, n)),
                         get_secret=lambda ns, n: api.get(("secret", ns, n)))


def pod(*volumes):
    return {"metadata": {"name": "web-1", "namespace": "default", "uid": "uid-1",
                         "labels": {"app": "web", "tier": "front"}},
            "spec": {"nodeName": "node-a", "volumes": list(volumes), "containers": []}}


def read(path):
    with open(path) as f:
        return f.read()


def test_configmap_volume_projects_keys_as_files_behind_an_atomic_data_link(manager):
    paths = manager.setup(pod({"name": "cfg", "configMap": {"name": "app-config"}}))
    cfg = paths["cfg"]
    assert read(os.path.join(cfg, "app.conf")) == "mode=fast\n"
    assert os.readlink(os.path.join(cfg, "app.conf")) == "..data/app.conf"
    assert os.readlink(os.path.join(cfg, "..data")).startswith("..20")


def test_an_updated_configmap_is_republished_with_one_switch(manager, api):
    volume = {"name": "cfg", "configMap": {"name": "app-config"}}
    cfg = manager.setup(pod(volume))["cfg"]
    first = os.readlink(os.path.join(cfg, "..data"))
    manager.setup(pod(volume))  # unchanged data: nothing rewritten
    assert os.readlink(os.path.join(cfg, "..data")) == first
    api[("configmap", "default", "app-config")] = {"data": {"app.conf": "mode=slow\n"}}
    manager.setup(pod(volume))
    assert read(os.path.join(cfg, "app.conf")) == "mode=slow\n"
    assert not os.path.lexists(os.path.join(cfg, "level"))  # removed keys disappear
    assert not os.path.exists(os.path.join(cfg, first))  # the old version is gone


def test_items_select_keys_paths_and_modes(manager):
    paths = manager.setup(pod({"name": "cfg", "configMap": {
        "name": "app-config", "defaultMode": 0o600,
        "items": [{"key": "level", "path": "conf/level.txt", "mode": 0o400}]}}))
    target = os.path.join(paths["cfg"], "conf", "level.txt")
    assert read(target) == "3"
    assert oct(os.stat(target).st_mode & 0o777) == "0o400"
    assert sorted(e for e in os.listdir(paths["cfg"]) if not e.startswith("..")) == ["conf"]


def test_a_missing_configmap_fails_unless_optional(manager):
    with pytest.raises(VolumeError, match='configmap "nope" not found'):
        manager.setup(pod({"name": "cfg", "configMap": {"name": "nope"}}))
    paths = manager.setup(pod({"name": "cfg", "configMap": {"name": "nope", "optional": True}}))
    assert [e for e in os.listdir(paths["cfg"]) if not e.startswith("..")] == []


def test_downward_api_and_projected_volumes(manager):
    paths = manager.setup(pod({"name": "info", "projected": {"sources": [
        {"downwardAPI": {"items": [
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        {"configMap": {"name": "app-config", "items": [{"key": "level", "path": "level"}]}},
    ]}}))
    info = paths["info"]
    assert read(os.path.join(info, "name")) == "web-1"
    assert read(os.path.join(info, "labels")) == 'app="web"\ntier="front"'
    assert read(os.path.join(info, "level")) == "3"


def test_host_path_types_are_checked_and_created(manager, tmp_path):
    made = tmp_path / "made" / "dir"
    paths = manager.setup(pod({"name": "h", "hostPath": {"path": str(made),
                                                        "type": "DirectoryOrCreate"}}))
    assert paths["h"] == str(made) and made.is_dir()
    with pytest.raises(VolumeError, match="does not exist"):
        manager.setup(pod({"name": "h", "hostPath": {"path": str(tmp_path / "x"),
                                                    "type": "Directory"}}))
    with pytest.raises(VolumeError, match="is not a File"):
        manager.setup(pod({"name": "h", "hostPath": {"path": str(made), "type": "File"}}))


def test_an_item_path_cannot_escape_the_volume(tmp_path):
    with pytest.raises(VolumeError, match="must be relative"):
        write_atomically(str(tmp_path), {"../evil": (b"x", 0o644)})
    assert not (tmp_path.parent / "evil").exists()


def test_unsupported_volume_types_are_named(manager):
    with pytest.raises(VolumeError, match='volume "data": type nfs is not supported'):
        manager.setup(pod({"name": "data", "nfs": {"server": "x", "path": "/"}}))


def _mount_type(path):
    out = subprocess.run(["findmnt", "-n", "-o", "FSTYPE,OPTIONS", path], capture_output=True,
                         text=True).stdout
    return out.strip()


@pytest.mark.root
def test_memory_empty_dir_and_secrets_live_on_tmpfs_and_teardown_unmounts_them(manager):
    p = pod({"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}},
            {"name": "scratch", "emptyDir": {}},
            {"name": "creds", "secret": {"secretName": "creds"}})
    paths = manager.setup(p)
    assert _mount_type(paths["cache"]).startswith("tmpfs")
    assert "size=8192k" in _mount_type(paths["cache"])
    assert _mount_type(paths["creds"]).startswith("tmpfs")
    assert read(os.path.join(paths["creds"], "password")) == "s3cret"
    assert _mount_type(paths["scratch"]) == ""  # a plain directory on the node's disk
    assert oct(os.stat(paths["scratch"]).st_mode & 0o777) == "0o777"
    manager.setup(p)  # idempotent: no second tmpfs on top of the first
    assert len(subprocess.run(["findmnt", "-n", paths["cache"]], capture_output=True,
                              text=True).stdout.splitlines()) == 1
    manager.teardown("uid-1")
    assert not os.path.exists(manager.pod_dir("uid-1"))


@pytest.mark.root
def test_teardown_never_removes_files_through_a_stray_mount(manager, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data").write_text("keep me")
    paths = manager.setup(pod({"name": "scratch", "emptyDir": {}}))
    inner = os.path.join(paths["scratch"], "bound")
    os.mkdir(inner)
    subprocess.run(["mount", "--bind", str(precious), inner], check=True)
    try:
        manager.teardown("uid-1")  # unmounts the stray bind mount, then removes
    finally:
        subprocess.run(["umount", inner], capture_output=True)
    assert (precious / "data").read_text() == "keep me"
    assert not os.path.exists(manager.pod_dir("uid-1"))
