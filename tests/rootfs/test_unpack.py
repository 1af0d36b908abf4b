"""Applying layers: what a tar says is what lands on disk, whiteouts included."""

import hashlib
import io
import os
import stat

import pytest

from supernetes.rootfs.errors import UnpackError
from supernetes.rootfs.unpack import Unpacker

T = 1_600_000_000  # LayerBuilder's mtime


def apply(target, data: bytes, mode="apply", base=False, diff_id=None) -> str:
    os.makedirs(target, exist_ok=True)
    return Unpacker(str(target), mode, base=base).apply(io.BytesIO(data), diff_id)


def test_files_dirs_links_modes_and_times_are_restored(tmp_path, layer):
    data = (layer().dir("etc", 0o750).file("etc/conf", b"x=1\n", 0o640)
            .dir("bin").file("bin/tool", b"\x7fELF", 0o4755).hardlink("bin/alias", "bin/tool")
            .symlink("bin/rel", "tool").symlink("abs", "/etc/conf").fifo("pipe", 0o600)
            .file("deep/implicit/file", b"made with its parents").bytes())
    apply(tmp_path / "t", data)
    t = tmp_path / "t"
    assert (t / "etc/conf").read_bytes() == b"x=1\n"
    assert stat.S_IMODE(os.stat(t / "etc").st_mode) == 0o750
    assert stat.S_IMODE(os.stat(t / "etc/conf").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(t / "bin/tool").st_mode) == 0o4755  # setuid survives
    assert os.stat(t / "bin/alias").st_ino == os.stat(t / "bin/tool").st_ino
    assert os.readlink(t / "bin/rel") == "tool"
    assert os.readlink(t / "abs") == "/etc/conf"  # absolute links are kept, never followed
    assert stat.S_ISFIFO(os.lstat(t / "pipe").st_mode)
    assert (t / "deep/implicit/file").read_bytes() == b"made with its parents"
    for path in ("etc", "etc/conf", "bin/tool", "pipe"):
        assert int(os.lstat(t / path).st_mtime) == T, path
    assert int(os.lstat(t / "bin/rel").st_mtime) == T  # symlink times too (lutimes)


def test_the_diff_id_is_the_digest_of_the_uncompressed_tar_whatever_the_compression(
        tmp_path, layer, tree_of):
    builder = layer().dir("d").file("d/f", b"payload" * 1000)
    expected = "sha256:" + hashlib.sha256(builder.tar()).hexdigest()
    trees = []
    for compression in (None, "gzip", "zstd"):
        target = tmp_path / str(compression)
        assert apply(target, builder.bytes(compression)) == expected
        trees.append(tree_of(str(target)))
    assert trees[0] == trees[1] == trees[2]


def test_a_layer_that_does_not_match_its_diff_id_is_refused(tmp_path, layer):
    with pytest.raises(UnpackError, match="does not match its DiffID"):
        apply(tmp_path / "t", layer().file("f", b"x").bytes(), diff_id="sha256:" + "1" * 64)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[: len(b) // 2], "not a valid tar|corrupt"),
    (lambda b: b[:10] + bytes(len(b) - 10), "corrupt|not a valid tar"),
])
def test_corrupt_and_truncated_layers_fail_cleanly(tmp_path, layer, damage, message):
    data = layer().file("f", os.urandom(50_000)).bytes("gzip")
    with pytest.raises(UnpackError, match=message):
        apply(tmp_path / "t", damage(data))


def test_read_only_directories_get_their_mode_after_their_contents(tmp_path, layer):
    apply(tmp_path / "t", layer().dir("ro", 0o555).file("ro/f", b"inside").bytes())
    assert (tmp_path / "t/ro/f").read_bytes() == b"inside"
    assert stat.S_IMODE(os.stat(tmp_path / "t/ro").st_mode) == 0o555
    assert int(os.stat(tmp_path / "t/ro").st_mtime) == T  # not bumped by the child
    os.chmod(tmp_path / "t/ro", 0o755)  # let pytest clean up as non-root


def test_a_later_layer_replaces_types(tmp_path, layer):
    t = tmp_path / "t"
    apply(t, layer().file("a", b"file").dir("b").file("b/x").symlink("c", "a").bytes(), base=True)
    apply(t, layer().dir("a").file("a/now-a-dir").symlink("b", "a").file("c", b"real").bytes())
    assert (t / "a/now-a-dir").exists()
    assert os.readlink(t / "b") == "a"
    assert not os.path.islink(t / "c") and (t / "c").read_bytes() == b"real"


def test_whiteouts_delete_lower_files_and_opaque_dirs_hide_lower_contents(tmp_path, layer,
                                                                         tree_of):
    t = tmp_path / "t"
    apply(t, layer().dir("etc").file("etc/keep").file("etc/gone").dir("opq")
          .file("opq/old1").dir("opq/sub").file("opq/sub/old2").dir("dir").file("dir/x")
          .bytes(), base=True)
    apply(t, layer().whiteout("etc/gone").whiteout("dir").dir("opq").file("opq/new")
          .opaque("opq").dir("opq/sub").file("opq/sub/new2")
          .file("etc/same-layer").whiteout("etc/same-layer").bytes())
    apply(t, layer().whiteout("etc/keep").file("dir", b"now a file").bytes())
    assert sorted(tree_of(str(t))) == sorted([
        "etc", "etc/same-layer", "opq", "opq/new", "opq/sub", "opq/sub/new2", "dir"])
    assert (t / "dir").read_bytes() == b"now a file"


def test_whiteouts_in_the_first_layer_hide_nothing(tmp_path, layer):
    t = tmp_path / "t"
    apply(t, layer().file("a").whiteout("b").dir("c").opaque("c").bytes(), base=True)
    assert sorted(os.listdir(t)) == ["a", "c"]
    assert os.listdir(t / "c") == []
    assert "trusted.overlay.opaque" not in os.listxattr(t / "c")


def test_user_xattrs_are_restored(tmp_path, layer):
    builder = layer()
    builder.file("f", b"x", pax_headers={"SCHILY.xattr.user.origin": "layer"})
    apply(tmp_path / "t", builder.bytes())
    assert os.getxattr(tmp_path / "t/f", "user.origin") == b"layer"


@pytest.mark.root
def test_owners_and_device_nodes_are_restored_as_root(tmp_path, layer):
    apply(tmp_path / "t", layer().dir("home", uid=1000, gid=1000)
          .file("home/f", b"x", 0o4750, uid=1000, gid=100).chardev("null", 1, 3)
          .symlink("home/l", "f", uid=1000, gid=1000).bytes())
    t = tmp_path / "t"
    assert (os.stat(t / "home").st_uid, os.stat(t / "home").st_gid) == (1000, 1000)
    st = os.stat(t / "home/f")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 100, 0o4750)
    assert os.lstat(t / "home/l").st_uid == 1000
    null = os.lstat(t / "null")
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and \
        os.minor(null.st_rdev) == 3


@pytest.mark.root
def test_overlay_mode_writes_whiteouts_as_overlayfs_reads_them(tmp_path, layer):
    t = tmp_path / "t"
    apply(t, layer().dir("etc").whiteout("etc/gone").dir("opq").opaque("opq").file("opq/new")
          .file("kept").whiteout("kept").bytes(), mode="overlay")
    gone = os.lstat(t / "etc/gone")
    assert stat.S_ISCHR(gone.st_mode) and gone.st_rdev == 0
    assert os.getxattr(t / "opq", "trusted.overlay.opaque") == b"y"
    assert (t / "opq/new").exists()
    assert stat.S_ISREG(os.lstat(t / "kept").st_mode)  # same-layer files survive
