"""Hostile layers: every one fails with a clear error and writes nothing outside its target.

The corpus follows moby's archive tests (TestUntarInvalidFilenames, ...InvalidHardlink,
...InvalidSymlink) and the CVEs of the same family:

  CVE-2014-6407   Docker: symlink/hard-link traversal while extracting layers
  CVE-2014-9356   Docker: absolute symlinks followed during extraction
  CVE-2018-15664  Docker: path resolution racing a changing tree (we walk by descriptor)
  CVE-2021-29136  umoci: whiteout of `..` (`.wh...`) removing a directory outside
  CVE-2021-32760  containerd: chmod through a symlink planted by the layer
  CVE-2022-2879   Go archive/tar: unbounded memory on huge PAX headers
  CVE-2007-4559   Python tarfile: extractall writes wherever the names point

Each case is built with tarfile next to a sentinel directory (`box/victim`), and
run in both whiteout modes: `apply` (flattened rootfs, unprivileged) and `overlay`
(per-layer snapshot dirs, root).
"""

import io
import os
import subprocess
import sys
import tarfile
import textwrap

import pytest

from supernetes.rootfs.errors import UnsafeLayer
from supernetes.rootfs.unpack import Unpacker

MODES = ["apply", pytest.param("overlay", marks=pytest.mark.root)]


def _corpus(victim: str):
    """(id, build(layer) -> LayerBuilder, expected message). `victim` is an absolute path."""
    v = victim.lstrip("/")
    return [
        ("absolute-name", lambda L: L().file(f"/{v}/hello", b"pwned"), "absolute path"),
        ("dotdot-name", lambda L: L().file("../victim/hello", b"pwned"), "'\\.\\.'"),
        ("dotdot-inside-name", lambda L: L().dir("a").file("a/../../victim/hello", b"x"),
         "'\\.\\.'"),
        ("symlink-to-abs-dir-then-write-through-it",
         lambda L: L().symlink("a", victim).file("a/hello", b"pwned"), "is a symlink"),
        ("symlink-to-abs-dir-then-mkdir-through-it",
         lambda L: L().symlink("a", victim).dir("a/newdir"), "is a symlink"),
        ("symlink-escaping-relative", lambda L: L().symlink("loophole", "../victim"),
         "above the layer root"),
        ("symlink-dotdot-chain",
         lambda L: L().dir("d").dir("d/e").symlink("d/e/up", "../../../../.."),
         "above the layer root"),
        ("symlink-dotdot-chain-through-names",
         lambda L: L().symlink("x", "a/b/../../../victim"), "above the layer root"),
        ("symlink-in-subdir-then-write-through-it",  # moby: dir/loophole -> ../../victim
         lambda L: L().dir("dir").symlink("dir/loophole", "../../victim")
         .file("dir/loophole/newdir/newfile", b"x"), "above the layer root"),
        ("hardlink-dotdot", lambda L: L().hardlink("h", "../victim/hello"), "'\\.\\.'"),
        ("hardlink-slash-dotdot", lambda L: L().hardlink("h", "/../victim/hello"),
         "absolute path"),
        ("hardlink-absolute", lambda L: L().hardlink("h", f"/{v}/hello"), "absolute path"),
        ("hardlink-to-escaping-symlink",
         lambda L: L().symlink("s", f"{victim}/hello").hardlink("h", "s"),
         "symlink that leaves the layer"),
        ("hardlink-through-symlink",
         lambda L: L().symlink("s", victim).hardlink("h", "s/hello"), "is a symlink"),
        ("hardlink-to-directory", lambda L: L().dir("d").hardlink("h", "d"), "is a directory"),
        ("symlink-named-dot", lambda L: L().symlink(".", victim), "replace the layer root"),
        ("symlink-named-dot-slash", lambda L: L().symlink("./", "/"),
         "replace the layer root"),
        ("file-named-dot", lambda L: L().file(".", b"x"), "replace the layer root"),
        ("whiteout-of-dotdot", lambda L: L().dir("sub").file("sub/.wh...", b""),
         "whiteout .* names '\\.\\.'"),
        ("whiteout-of-dotdot-at-root", lambda L: L().file(".wh...", b""), "names '\\.\\.'"),
        ("whiteout-of-dot", lambda L: L().file(".wh..", b""), "names '\\.'"),
        ("whiteout-of-nothing", lambda L: L().file("d/.wh.", b""), "names 'nothing'"),
        ("whiteout-path-escape", lambda L: L().file("../.wh.victim", b""), "'\\.\\.'"),
        ("whiteout-through-symlink",
         lambda L: L().symlink("a", victim).file("a/.wh.hello", b""), "is a symlink"),
        ("opaque-through-symlink",
         lambda L: L().symlink("a", victim).file("a/.wh..wh..opq", b""), "is a symlink"),
        ("overlayfs-xattr",
         lambda L: L().dir("d", pax_headers={"SCHILY.xattr.trusted.overlay.redirect": "/x"}),
         "overlayfs-internal"),
    ]


CASES = _corpus("/VICTIM")  # ids only; the real victim path is per test


def _box(tmp_path):
    box = tmp_path / "box"
    (box / "victim").mkdir(parents=True)
    (box / "victim/hello").write_bytes(b"victim data")
    os.chmod(box / "victim/hello", 0o600)
    (box / "target").mkdir()
    return box


def _outside(box, tree_of) -> dict:
    """Everything in the box except the target: must not change."""
    return {k: v for k, v in tree_of(str(box)).items() if not k.startswith("target")}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_a_hostile_layer_fails_cleanly_and_writes_nothing_outside(tmp_path, layer, tree_of,
                                                                   mode, case):
    box = _box(tmp_path)
    _, build, message = next(c for c in _corpus(str(box / "victim")) if c[0] == case)
    before = _outside(box, tree_of)
    data = build(layer).bytes()
    with pytest.raises(UnsafeLayer, match=message):
        Unpacker(str(box / "target"), mode).apply(io.BytesIO(data))
    assert _outside(box, tree_of) == before
    assert (box / "victim/hello").read_bytes() == b"victim data"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("header", ["pax", "gnu-longname"])
def test_oversized_tar_headers_are_refused_before_they_are_read(tmp_path, mode, header):
    buf = io.BytesIO()
    fmt = tarfile.PAX_FORMAT if header == "pax" else tarfile.GNU_FORMAT
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        info = tarfile.TarInfo("x" * (2 << 20))  # a 2 MiB name: PAX record or GNU longname
        tar.addfile(info, io.BytesIO(b""))
    box = _box(tmp_path)
    with pytest.raises(UnsafeLayer, match="exceeds the 1048576-byte limit"):
        Unpacker(str(box / "target"), mode).apply(io.BytesIO(buf.getvalue()))
    assert os.listdir(box / "target") == []


@pytest.mark.parametrize("mode", MODES)
def test_a_name_reused_after_a_symlink_replaces_the_link_and_never_chmods_through_it(
        tmp_path, layer, tree_of, mode):
    # CVE-2021-32760's shape: a symlink to a host file, then an entry of the same name
    # whose metadata a careless unpacker would apply through the link.
    box = _box(tmp_path)
    before = _outside(box, tree_of)
    data = (layer().symlink("s", str(box / "victim/hello")).dir("s", 0o777)
            .symlink("t", str(box / "victim")).file("t", b"mine", 0o666).bytes())
    Unpacker(str(box / "target"), mode).apply(io.BytesIO(data))
    assert _outside(box, tree_of) == before
    assert os.path.isdir(box / "target/s") and not os.path.islink(box / "target/s")
    assert (box / "target/t").read_bytes() == b"mine"


def test_writing_through_a_lower_layers_symlink_is_refused_when_flattening(tmp_path, layer,
                                                                          tree_of):
    box = _box(tmp_path)
    before = _outside(box, tree_of)
    Unpacker(str(box / "target"), "apply", base=True).apply(
        io.BytesIO(layer().symlink("etc", str(box / "victim")).bytes()))
    with pytest.raises(UnsafeLayer, match="'etc' is a symlink"):
        Unpacker(str(box / "target"), "apply").apply(
            io.BytesIO(layer().file("etc/hello", b"pwned").bytes()))
    assert _outside(box, tree_of) == before


@pytest.mark.root
def test_a_lower_layers_symlink_cannot_be_reached_from_an_overlay_layer_dir(tmp_path, layer,
                                                                          tree_of):
    # Overlay snapshots unpack each layer into its own empty dir: the symlink of
    # layer 1 is not there, so layer 2's etc/hello lands inside layer 2's dir.
    box = _box(tmp_path)
    before = _outside(box, tree_of)
    (box / "target/l1").mkdir()
    (box / "target/l2").mkdir()
    Unpacker(str(box / "target/l1"), "overlay", base=True).apply(
        io.BytesIO(layer().symlink("etc", str(box / "victim")).bytes()))
    Unpacker(str(box / "target/l2"), "overlay").apply(
        io.BytesIO(layer().file("etc/hello", b"inside").bytes()))
    assert (box / "target/l2/etc/hello").read_bytes() == b"inside"
    assert _outside(box, tree_of) == before


@pytest.mark.root
def test_device_nodes_are_refused_without_root(tmp_path, layer):
    """Run the unpacker as nobody (a real unprivileged process) on a layer with /dev/null."""
    target = tmp_path / "target"
    target.mkdir()
    os.chown(target, 65534, 65534)
    data = layer().dir("dev").chardev("dev/null", 1, 3).bytes()
    # nobody cannot walk into pytest's 0700 temp dir; hand it the target as an open fd.
    fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    script = textwrap.dedent(f"""
        import io, sys
        from supernetes.rootfs.errors import UnsafeLayer
        from supernetes.rootfs.unpack import Unpacker
        try:
            Unpacker("/proc/self/fd/{fd}").apply(io.BytesIO(sys.stdin.buffer.read()))
        except UnsafeLayer as exc:
            print(exc)
            sys.exit(3)
    """)
    try:
        result = subprocess.run([sys.executable, "-c", script], input=data,
                                capture_output=True, user=65534, group=65534, extra_groups=[],
                                pass_fds=[fd])
    finally:
        os.close(fd)
    assert result.returncode == 3, result.stderr.decode()
    assert "device node 'dev/null' needs root" in result.stdout.decode()
    assert not os.path.lexists(target / "dev/null")
