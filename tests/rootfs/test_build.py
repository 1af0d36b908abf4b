"""Base images built offline: busybox from busybox-static, Debian minbase, any directory."""

import json
import os
import subprocess
import sys

import pytest

from supernetes.rootfs import build
from supernetes.rootfs.errors import BuildError


def test_the_busybox_image_is_reproducible_and_skopeo_and_umoci_accept_it(
        busybox_layout, tmp_path, skopeo_run, umoci, tree_of):
    again = str(tmp_path / "again")
    digest = build.build_busybox(again)
    with open(os.path.join(busybox_layout, "index.json")) as f:
        assert json.load(f)["manifests"][0]["digest"] == digest  # same bytes, same digest
    inspected = json.loads(skopeo_run("inspect", f"oci:{again}:latest").stdout)
    assert inspected["Digest"] == digest and inspected["Os"] == "linux"
    files = tree_of(umoci(again, "latest", str(tmp_path / "bundle")))
    assert files["bin/sh"][4] == files["bin/busybox"][4]  # applets are the binary
    assert files["bin/sh"][-1] == files["bin/busybox"][-1]  # ... hard-linked
    assert files["tmp"][1] == 0o1777 and files["root"][1] == 0o700
    assert all(entry[2] == 0 and entry[3] == 0 for entry in files.values())  # owned by root


def test_any_directory_becomes_an_image(tmp_path, native_service):
    src = tmp_path / "app"
    (src / "bin").mkdir(parents=True)
    (src / "bin/hello").write_text("#!/bin/sh\necho hello\n")
    os.chmod(src / "bin/hello", 0o755)
    os.symlink("bin/hello", src / "run")
    out = str(tmp_path / "layout")
    build.build_dir(str(src), out, "localhost/app:1", {"Entrypoint": ["/run"]}, as_root=True)
    [record] = native_service.import_(out)
    assert record.name == "localhost/app:1"
    image = native_service.image("localhost/app:1")
    assert image.config.config["Entrypoint"] == ["/run"]
    top = native_service.snapshots.path(image.chain_ids[-1])
    assert os.readlink(os.path.join(top, "run")) == "bin/hello"
    assert os.stat(os.path.join(top, "bin/hello")).st_mode & 0o777 == 0o755


def test_the_builder_refuses_a_missing_directory(tmp_path):
    with pytest.raises(BuildError, match="is not a directory"):
        build.build_dir(str(tmp_path / "nope"), str(tmp_path / "out"), "localhost/x:1")


def test_the_apt_mirror_is_read_from_both_sources_formats(tmp_path):
    deb822 = tmp_path / "debian.sources"
    deb822.write_text("Types: deb\nURIs: http://mirror.example/debian\n"
                      "Suites: bookworm bookworm-updates\nComponents: main\n\n"
                      "Types: deb\nURIs: http://security.example/debian-security\n"
                      "Suites: bookworm-security\n")
    oneline = tmp_path / "sources.list"
    oneline.write_text("# comment\ndeb [arch=amd64] http://old.example/debian bullseye main\n")
    assert build.apt_mirror("bookworm", [str(deb822)]) == "http://mirror.example/debian"
    assert build.apt_mirror("bullseye", [str(oneline)]) == "http://old.example/debian"
    assert build.apt_mirror("trixie", [str(deb822), str(oneline)]) == build.DEFAULT_MIRROR


def test_build_as_a_module_command_writes_a_layout(tmp_path, skopeo_run):
    out = str(tmp_path / "layout")
    result = subprocess.run([sys.executable, "-m", "supernetes.rootfs.build", "busybox",
                             "--output", out, "--name", "localhost/bb:7"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("localhost/bb:7: written to ")
    assert json.loads(skopeo_run("inspect", f"oci:{out}:7").stdout)["Os"] == "linux"


@pytest.mark.slow
@pytest.mark.root
def test_debian_minbase_is_built_with_debootstrap_and_runs_bash(tmp_path, service, skopeo_run):
    """Minutes the first time (debootstrap from the apt mirror); cached afterwards."""
    out = str(tmp_path / "debian")
    digest = build.build_debian(out)
    assert json.loads(skopeo_run("inspect", f"oci:{out}:bookworm").stdout)["Digest"] == digest
    [record] = service.import_(out)
    assert record.name == "localhost/debian:bookworm"
    image = service.image(record.name)
    assert image.size > 20_000_000  # tens of MB, compressed
    rootfs = service.prepare_rootfs("debian-check", record.name)
    try:
        with open(os.path.join(rootfs, "etc/debian_version")) as f:
            assert f.read().startswith("12.")
        assert os.access(os.path.join(rootfs, "usr/bin/bash"), os.X_OK)
        assert os.listdir(os.path.join(rootfs, "dev")) == []  # no device nodes shipped
        assert not [n for n in os.listdir(os.path.join(rootfs, "var/cache/apt/archives"))
                    if n.endswith(".deb")]
    finally:
        service.release_rootfs("debian-check")
