"""Container rootfs from snapshots: overlay mounts that copy nothing, a copy fallback, GC, du."""

import fcntl
import os
import stat
import subprocess

import pytest

from supernetes.rootfs.errors import ImageNotFound, SnapshotError
from supernetes.rootfs.images import ImageService


@pytest.fixture
def busybox(service, busybox_layout):
    service.import_(busybox_layout, name="localhost/busybox:latest")
    return "localhost/busybox:latest"


@pytest.fixture
def native_busybox(native_service, busybox_layout):
    native_service.import_(busybox_layout, name="localhost/busybox:latest")
    return "localhost/busybox:latest"


def _mounts() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return f.read().splitlines()


@pytest.mark.root
def test_a_container_writes_only_to_its_upper_dir(service, busybox, tree_of):
    image = service.image(busybox)
    layer_dir = service.snapshots.path(image.chain_ids[0])
    before = tree_of(layer_dir)
    rootfs = service.prepare_rootfs("c1", busybox)
    try:
        with open(os.path.join(rootfs, "new-file"), "w") as f:
            f.write("written by the container")
        with open(os.path.join(rootfs, "etc/hostname"), "w") as f:
            f.write("changed\n")
        os.unlink(os.path.join(rootfs, "bin/ls"))
        upper = os.path.join(service.store.root, "containers/c1/upper")
        assert sorted(tree_of(upper)) == ["bin", "bin/ls", "etc", "etc/hostname", "new-file"]
        assert stat.S_ISCHR(os.lstat(os.path.join(upper, "bin/ls")).st_mode)  # a whiteout
        assert tree_of(layer_dir) == before  # the image's layer is untouched
    finally:
        service.release_rootfs("c1")
    assert not os.path.exists(os.path.join(service.store.root, "containers/c1"))
    assert not any(rootfs in line for line in _mounts())


@pytest.mark.root
def test_two_containers_of_one_image_do_not_see_each_others_writes(service, busybox):
    a = service.prepare_rootfs("a", busybox)
    b = service.prepare_rootfs("b", busybox)
    try:
        with open(os.path.join(a, "tmp/mine"), "w") as f:
            f.write("a")
        os.unlink(os.path.join(a, "bin/sh"))
        assert not os.path.exists(os.path.join(b, "tmp/mine"))
        assert os.path.exists(os.path.join(b, "bin/sh"))
    finally:
        service.release_rootfs("a")
        service.release_rootfs("b")


@pytest.mark.root
def test_the_next_container_of_an_unpacked_image_is_a_mount_not_a_copy(service, busybox):
    image = service.image(busybox)
    rootfs = service.prepare_rootfs("second", busybox)
    try:
        line = next(m for m in _mounts() if f" {rootfs} " in m)
        assert " - overlay overlay " in line
        assert f"lowerdir={service.snapshots.path(image.chain_ids[0])}" in line
        upper = os.path.join(service.store.root, "containers/second/upper")
        assert os.listdir(upper) == []  # nothing was copied
        assert os.path.exists(os.path.join(rootfs, "bin/busybox"))
    finally:
        service.release_rootfs("second")


def test_the_copy_driver_gives_each_container_its_own_tree(native_service, native_busybox,
                                                           tree_of):
    image = native_service.image(native_busybox)
    before = tree_of(native_service.snapshots.path(image.chain_ids[-1]))
    a = native_service.prepare_rootfs("a", native_busybox)
    b = native_service.prepare_rootfs("b", native_busybox)
    assert tree_of(a) == before  # a faithful copy: modes, owners, links, hard links
    with open(os.path.join(a, "tmp/mine"), "w") as f:
        f.write("a")
    assert not os.path.exists(os.path.join(b, "tmp/mine"))
    assert tree_of(native_service.snapshots.path(image.chain_ids[-1])) == before
    native_service.release_rootfs("a")
    native_service.release_rootfs("b")
    assert not os.path.exists(a) and native_service.snapshots.containers() == {}


def test_container_ids_and_duplicates_are_checked(native_service, native_busybox):
    with pytest.raises(SnapshotError, match="invalid container id"):
        native_service.prepare_rootfs("../escape", native_busybox)
    native_service.prepare_rootfs("once", native_busybox)
    with pytest.raises(SnapshotError, match="already has a rootfs"):
        native_service.prepare_rootfs("once", native_busybox)
    native_service.release_rootfs("once")
    native_service.release_rootfs("never-existed")  # releasing twice is fine
    with pytest.raises(ImageNotFound):
        native_service.prepare_rootfs("x", "localhost/nothing:1")


@pytest.mark.root
def test_a_busy_rootfs_is_detached_on_release(service, busybox):
    rootfs = service.prepare_rootfs("busy", busybox)
    sleeper = subprocess.Popen(["sleep", "60"], cwd=rootfs)
    try:
        service.release_rootfs("busy")
        assert not any(rootfs in line for line in _mounts())
    finally:
        sleeper.kill()
        sleeper.wait()


def test_gc_keeps_what_images_and_containers_use_and_removes_the_rest(native_service,
                                                                      native_busybox, tmp_path,
                                                                      layer, layouts):
    other = layouts.single(str(tmp_path / "other"), [layer().file("x", b"other").bytes()])
    native_service.import_(other, name="localhost/other:1")
    container = native_service.prepare_rootfs("user", native_busybox)
    busybox_chains = native_service.image(native_busybox).chain_ids
    other_chains = native_service.image("localhost/other:1").chain_ids

    record, collected = native_service.remove(native_busybox)
    assert record.name == native_busybox
    assert collected.blobs == 3 and collected.snapshots == 0  # the container pins its layer
    assert all(native_service.snapshots.has(c) for c in busybox_chains)

    native_service.release_rootfs("user")
    collected = native_service.prune()
    assert collected.snapshots == 1 and collected.bytes > 1_000_000
    assert not any(native_service.snapshots.has(c) for c in busybox_chains)
    assert all(native_service.snapshots.has(c) for c in other_chains)  # still referenced
    assert not os.path.exists(container)


def test_prune_removes_abandoned_unpacks_but_not_live_ones(native_service):
    snapdir = native_service.snapshots.dir
    dead = os.path.join(snapdir, "tmp-dead")
    live = os.path.join(snapdir, "tmp-live")
    for path in (dead, live):
        os.makedirs(os.path.join(path, "fs"))
    fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what an unpack in progress holds
    try:
        native_service.prune()
        assert not os.path.exists(dead) and os.path.exists(live)
    finally:
        os.close(fd)


def test_du_accounts_blobs_snapshots_and_containers(native_service, native_busybox):
    native_service.prepare_rootfs("du", native_busybox)
    usage = native_service.usage()
    blob_bytes = sum(os.path.getsize(native_service.store.path(d))
                     for d in native_service.store.all_digests())
    assert usage.blobs == blob_bytes
    [image] = usage.images
    assert image.name == native_busybox and image.blobs > 1_000_000
    assert image.unpacked > image.blobs  # busybox unpacked is larger than its gzip
    assert usage.container_count == 1 and usage.containers > 1_000_000  # a full copy
    assert usage.reclaimable == 0
    native_service.release_rootfs("du")


@pytest.mark.root
def test_an_image_with_more_layers_than_one_page_of_mount_options_still_mounts(
        tmp_path, layer, layouts):
    # A long store path and 70 layers: about 10 kB of lowerdir, more than mount(2) takes.
    root = tmp_path / ("deep-store-path-" + "x" * 60) / "images"
    service = ImageService(str(root), driver="overlay", progress=False)
    layers = [layer().file(f"layer-{i:02d}", b"%d" % i).file("top", b"%d" % i).bytes()
              for i in range(70)]
    service.import_(layouts.single(str(tmp_path / "tall"), layers), name="localhost/tall:1")
    rootfs = service.prepare_rootfs("tall", "localhost/tall:1")
    try:
        assert len([n for n in os.listdir(rootfs) if n.startswith("layer-")]) == 70
        with open(os.path.join(rootfs, "top")) as f:
            assert f.read() == "69"  # the last layer wins
        with open(os.path.join(rootfs, "mine"), "w") as f:
            f.write("upper")
        assert os.path.exists(os.path.join(root, "containers/tall/upper/mine"))
    finally:
        service.release_rootfs("tall")
