"""Import and export: OCI layouts and archives, docker archives, bare layers, whiteouts."""

import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from supernetes.rootfs import oci
from supernetes.rootfs.errors import DigestMismatch, FormatError, UnsafeLayer
from supernetes.rootfs.images import ImageService

DRIVERS = ["native", pytest.param("overlay", marks=pytest.mark.root)]


@pytest.fixture(params=DRIVERS)
def any_service(request, tmp_path):
    return ImageService(str(tmp_path / f"store-{request.param}"), driver=request.param,
                        progress=False)


@pytest.fixture(scope="module")
def busybox_umoci_tree(tmp_path_factory, busybox_layout, umoci, tree_of):
    bundle = str(tmp_path_factory.mktemp("umoci") / "bundle")
    return tree_of(umoci(busybox_layout, "latest", bundle))


def test_a_docker_archive_imports_under_its_repo_tag(native_service, busybox_layout, tmp_path,
                                                     skopeo_run, image_tree, busybox_umoci_tree):
    archive = str(tmp_path / "busybox-docker.tar")
    skopeo_run("copy", f"oci:{busybox_layout}:latest", f"docker-archive:{archive}:busybox:1.36")
    [record] = native_service.import_(archive)
    assert record.name == "docker.io/library/busybox:1.36"
    image = native_service.image("busybox:1.36")
    # docker archives carry plain tar layers: their digest is their DiffID
    assert [layer.digest for layer in image.manifest.layers] == image.config.diff_ids
    assert image_tree(native_service, "busybox:1.36") == busybox_umoci_tree


def test_an_oci_archive_imports_with_its_tag(any_service, busybox_layout, tmp_path, skopeo_run,
                                             image_tree, busybox_umoci_tree):
    archive = str(tmp_path / "bb-oci.tar")
    skopeo_run("copy", f"oci:{busybox_layout}:latest", f"oci-archive:{archive}:v2")
    [record] = any_service.import_(archive)
    assert record.name == "localhost/bb-oci:v2"  # a bare tag gets the file's name
    assert image_tree(any_service, record.name) == busybox_umoci_tree


def test_an_oci_layout_directory_imports_under_a_given_name(native_service, busybox_layout):
    [record] = native_service.import_(busybox_layout, name="example.com/tools/busybox:1")
    assert record.name == "example.com/tools/busybox:1"
    with open(os.path.join(busybox_layout, "index.json")) as f:
        assert json.load(f)["manifests"][0]["digest"] == record.manifest


def test_a_bare_layer_tarball_becomes_a_one_layer_image(native_service, tmp_path, layer):
    path = tmp_path / "rootfs.tar.gz"
    path.write_bytes(layer().dir("app").file("app/run.sh", b"#!/bin/sh\necho hi\n", 0o755)
                     .bytes())
    [record] = native_service.import_(str(path), exec_config={"Cmd": ["/app/run.sh"]})
    assert record.name == "localhost/rootfs:latest"
    image = native_service.image(record.name)
    assert image.config.config["Cmd"] == ["/app/run.sh"]
    assert image.manifest.layers[0].media_type == oci.OCI_LAYER_GZIP
    top = native_service.snapshots.path(image.chain_ids[-1])
    with open(os.path.join(top, "app/run.sh"), "rb") as f:
        assert f.read() == b"#!/bin/sh\necho hi\n"


def test_export_writes_a_layout_skopeo_and_umoci_accept_and_round_trips(
        native_service, busybox_layout, tmp_path, skopeo_run, umoci, tree_of, image_tree):
    [record] = native_service.import_(busybox_layout, name="localhost/exported:3")
    out = str(tmp_path / "out-layout")
    digest = native_service.export("localhost/exported:3", out)
    assert digest == record.manifest  # an OCI manifest is exported byte for byte
    inspected = json.loads(skopeo_run("inspect", f"oci:{out}:3").stdout)
    assert inspected["Digest"] == digest
    unpacked = tree_of(umoci(out, "3", str(tmp_path / "bundle")))
    assert unpacked == image_tree(native_service, "localhost/exported:3")

    archive = str(tmp_path / "exported.tar")
    native_service.export("localhost/exported:3", archive)
    assert json.loads(skopeo_run("inspect", f"oci-archive:{archive}").stdout)["Digest"] == digest

    fresh = ImageService(str(tmp_path / "fresh"), driver="native", progress=False)
    [again] = fresh.import_(archive)
    assert again.name == "localhost/exported:3" and again.manifest == digest


def _three_layers(layer):
    return [
        layer().dir("etc").file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n")
        .file("etc/motd", b"hello").dir("var").dir("var/cache").file("var/cache/a", b"a")
        .dir("var/cache/sub").file("var/cache/sub/b", b"b").dir("opt").file("opt/tool", b"t")
        .bytes(),
        layer().dir("etc").whiteout("etc/motd").dir("var").dir("var/cache")
        .opaque("var/cache").file("var/cache/fresh", b"new").whiteout("opt")
        .file("etc/added", b"layer2").bytes(),
        layer().dir("etc").whiteout("etc/added").file("etc/motd", b"back again")
        .dir("opt").file("opt/other", b"o").bytes(),
    ]


def test_three_layers_with_whiteouts_and_an_opaque_dir_give_the_right_tree(
        any_service, tmp_path, layer, layouts, image_tree, umoci, tree_of):
    layout = layouts.single(str(tmp_path / "three"), _three_layers(layer))
    any_service.import_(layout, name="localhost/three:1")
    files = image_tree(any_service, "localhost/three:1")
    assert sorted(files) == ["etc", "etc/motd", "etc/passwd", "opt", "opt/other", "var",
                             "var/cache", "var/cache/fresh"]
    assert files == tree_of(umoci(layout, "latest", str(tmp_path / "umoci")))
    if any_service.snapshots.driver == "overlay":  # the lower layers were not touched
        image = any_service.image("localhost/three:1")
        first = any_service.snapshots.path(image.chain_ids[0])
        assert os.path.exists(os.path.join(first, "var/cache/sub/b"))


def test_an_image_with_a_hostile_layer_is_refused_and_never_recorded(
        store_root, tmp_path, layer, layouts, superlet, cli_env):
    good = layer().dir("etc").file("etc/ok", b"fine").bytes()
    evil = layer().symlink("escape", "/etc").file("escape/passwd", b"pwned").bytes()
    layout = layouts.single(str(tmp_path / "evil"), [good, evil])
    result = subprocess.run([superlet, "image", "--root", store_root, "import", layout],
                            capture_output=True, text=True, env=cli_env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "layer 2/2" in result.stderr and "'escape' is a symlink" in result.stderr
    listing = subprocess.run([superlet, "image", "--root", store_root, "ls", "-q"],
                             capture_output=True, text=True, env=cli_env)
    assert listing.stdout == ""
    for driver in ("overlay", "native"):  # no half-unpacked snapshot dirs stay behind
        directory = os.path.join(store_root, "snapshots", driver)
        if os.path.isdir(directory):
            assert not [n for n in os.listdir(directory) if n.startswith("tmp-")]


def test_a_layout_with_a_corrupted_blob_is_refused(native_service, busybox_layout, tmp_path):
    copy = str(tmp_path / "corrupt")
    shutil.copytree(busybox_layout, copy)
    index = json.loads((tmp_path / "corrupt/index.json").read_text())
    blobs = tmp_path / "corrupt/blobs/sha256"
    manifest = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
    layer_path = blobs / manifest["layers"][0]["digest"][7:]
    data = bytearray(layer_path.read_bytes())
    data[100] ^= 0xFF
    layer_path.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch, match="digest mismatch"):
        native_service.import_(copy)
    assert native_service.store.refs.all() == {}


def test_a_docker_archive_whose_layer_does_not_match_its_config_is_refused(native_service,
                                                                          tmp_path, layer):
    archive = tmp_path / "bad-docker.tar"
    config = oci.dumps(oci.new_config(["sha256:" + "0" * 64]))
    content = {"manifest.json": json.dumps([{"Config": "c.json", "RepoTags": ["bad:1"],
                                             "Layers": ["l/layer.tar"]}]).encode(),
               "c.json": config, "l/layer.tar": layer().file("f", b"x").bytes(None)}
    with tarfile.open(archive, "w") as tar:
        for name, data in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(DigestMismatch, match="but the config says sha256:0000"):
        native_service.import_(str(archive))


@pytest.mark.parametrize("content, message", [
    (None, "no such file or directory"),
    (b"just some text\n", "neither an OCI layout, an archive nor a layer tarball"),
])
def test_something_that_is_not_an_image_is_a_clear_error(native_service, tmp_path, content,
                                                          message):
    path = tmp_path / "thing"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FormatError, match=message):
        native_service.import_(str(path))


def test_unsafe_layers_in_a_bare_tarball_fail_the_import(native_service, tmp_path, layer):
    path = tmp_path / "evil.tar"
    path.write_bytes(layer().file("../../outside", b"x").bytes(None))
    with pytest.raises(UnsafeLayer, match="contains '..'"):
        native_service.import_(str(path))
    assert native_service.store.refs.all() == {}
