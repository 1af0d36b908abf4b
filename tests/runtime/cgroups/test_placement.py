"""Where cgroups go: mode detection, the caller's own cgroups, paths below a parent.

Unit tests (no root): they read this machine's real /proc/self/cgroup and
mountinfo but create nothing. `test_legacy_...` mounts a real v1 hierarchy and
needs root.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from supernetes.runtime.cgroups import factory, paths
from supernetes.runtime.cgroups.base import CgroupError

CGROUP_ROOT = "/sys/fs/cgroup"


@pytest.mark.parametrize(("parent", "path", "expected"), [
    ("/", "c1", "/c1"),
    ("/a/b", "/web/c1", "/a/b/web/c1"),
    ("/a/b", "web/c1", "/a/b/web/c1"),
    ("/a/b", "../../../etc/c1", "/a/b/etc/c1"),
    ("//a//b/", "./x//y/", "/a/b/x/y"),
])
def test_a_cgroups_path_always_lands_below_its_parent(parent, path, expected):
    assert paths.below(parent, path) == expected


@pytest.mark.parametrize("path", ["", "/", ".", "a/.."])
def test_a_path_that_is_the_parent_itself_is_refused(path):
    with pytest.raises(CgroupError):
        paths.below("/a", path)


def test_own_cgroups_reads_every_hierarchy_of_the_caller():
    own = paths.own_cgroups()
    with open("/proc/self/cgroup") as f:
        for line in f.read().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                assert own[name] == path


def test_own_cgroups_splits_comounted_controllers(tmp_path):
    sample = tmp_path / "cgroup"
    sample.write_text("5:cpu,cpuacct:/svc\n2:memory:/m\n0::/u\n")

    assert paths.own_cgroups(str(sample)) == {"cpu": "/svc", "cpuacct": "/svc",
                                              "memory": "/m", "": "/u"}


def test_a_hierarchy_maps_cgroup_paths_through_its_mount_root():
    shown = paths.Hierarchy("/sys/fs/cgroup/memory", "/kubepods")

    assert shown.directory("/kubepods") == "/sys/fs/cgroup/memory"
    assert shown.directory("/kubepods/pod1/c1") == "/sys/fs/cgroup/memory/pod1/c1"
    with pytest.raises(CgroupError, match="outside"):
        shown.directory("/system.slice")


@pytest.mark.cgroup_v1
def test_this_machine_is_detected_as_hybrid_with_v1_hierarchies_from_mountinfo():
    assert factory.detect_mode() == factory.HYBRID
    hierarchies = paths.v1_hierarchies()
    for name in ("cpu", "cpuacct", "cpuset", "memory", "pids", "freezer", "devices"):
        assert os.path.exists(os.path.join(hierarchies[name].mountpoint, "cgroup.procs"))


@pytest.mark.cgroup_v1
def test_mountinfo_is_read_again_only_when_the_cgroup_mounts_change(tmp_path, monkeypatch):
    reads = []
    real = paths._read_v1_hierarchies
    monkeypatch.setattr(paths, "_read_v1_hierarchies",
                        lambda *args: reads.append(args) or real(*args))
    monkeypatch.setattr(paths, "_cache", {})
    first = paths.v1_hierarchies()
    assert paths.v1_hierarchies() == first and len(reads) == 1
    # Another cgroup root: read once, then again when something is mounted (made) there.
    assert paths.v1_hierarchies(str(tmp_path)) == {}
    assert paths.v1_hierarchies(str(tmp_path)) == {} and len(reads) == 2
    (tmp_path / "pids").mkdir()
    paths.v1_hierarchies(str(tmp_path))
    assert len(reads) == 3


@pytest.mark.cgroup_v1
def test_v1_cgroup_goes_below_the_callers_cgroup_in_each_hierarchy():
    own = paths.own_cgroups()
    manager = factory.new_manager("/web/c1")

    assert manager.version == 1
    for name, directory in manager.paths().items():
        base = paths.v1_hierarchies()[name].mountpoint
        assert directory == os.path.normpath(f"{base}/{own[name]}/web/c1")
        assert manager.parents()[name] == os.path.normpath(f"{base}/{own[name]}")
    assert not manager.exists()  # placing is not creating


@pytest.mark.cgroup_v1
def test_an_explicit_parent_applies_to_every_v1_hierarchy():
    manager = factory.new_manager("c1", parent="/supernetes/pods")

    for name, directory in manager.paths().items():
        base = paths.v1_hierarchies()[name].mountpoint
        assert directory == f"{base}/supernetes/pods/c1"


def test_a_missing_cgroup_root_is_one_clear_error(tmp_path):
    with pytest.raises(CgroupError, match="cannot read the cgroup root"):
        factory.detect_mode(str(tmp_path / "nowhere"))
    with pytest.raises(CgroupError, match="no cgroup filesystem"):
        factory.detect_mode(str(tmp_path))


@pytest.mark.root
@pytest.mark.cgroup_v1
def test_a_v1_only_layout_is_detected_as_legacy(tmp_path):
    # A real legacy layout: a tmpfs with one v1 hierarchy (the pids one, shared
    # with the machine's: mounting an existing hierarchy again just shows it).
    root = tmp_path / "cgroup"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(root)], check=True)
    try:
        (root / "pids").mkdir()
        subprocess.run(["mount", "-t", "cgroup", "-o", "pids", "cgroup", str(root / "pids")],
                       check=True)
        try:
            assert factory.detect_mode(str(root)) == factory.LEGACY
            hierarchies = paths.v1_hierarchies(str(root))
            assert list(hierarchies) == ["pids"]
            assert hierarchies["pids"].mountpoint == str(root / "pids")
        finally:
            subprocess.run(["umount", str(root / "pids")], check=True)
    finally:
        subprocess.run(["umount", str(root)], check=True)


def test_comounted_v1_controllers_share_one_hierarchy(tmp_path):
    # mountinfo as a container with cpu,cpuacct co-mounted shows it (parser input).
    sample = tmp_path / "mountinfo"
    sample.write_text(
        "30 25 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 /kubepods/pod1 /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "32 30 0:28 /kubepods/pod1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "33 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        "34 25 0:30 / /mnt/my\\040cgroups rw - cgroup cgroup rw,pids\n")

    found = paths.v1_hierarchies("/sys/fs/cgroup", str(sample))

    assert sorted(found) == ["cpu", "cpuacct", "memory"]
    assert found["cpu"].mountpoint == found["cpuacct"].mountpoint == "/sys/fs/cgroup/cpu,cpuacct"
    assert found["memory"].directory("/kubepods/pod1/c1") == "/sys/fs/cgroup/memory/c1"
    assert paths.v1_hierarchies("/mnt", str(sample))["pids"].mountpoint == "/mnt/my cgroups"
