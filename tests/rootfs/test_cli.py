"""`superlet image ...`: what a user types and reads, and one-line errors without tracebacks."""

import json
import subprocess

import pytest

from supernetes.rootfs import cli


@pytest.fixture
def run(store_root, capsys):
    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(["--root", store_root, "--snapshotter", "native", *argv])
        out, err = capsys.readouterr()
        return code, out, err
    return invoke


def test_import_ls_inspect_rm_prune_and_du(run, busybox_layout):
    code, out, _ = run("import", busybox_layout, "--name", "tools/busybox:1.36")
    assert code == 0 and out.startswith("docker.io/tools/busybox:1.36: imported (sha256:")

    code, out, _ = run("ls")
    header, row = out.splitlines()
    assert header.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "PLATFORM", "SIZE", "ADDED"]
    assert row.split()[:2] == ["docker.io/tools/busybox", "1.36"]

    code, out, _ = run("inspect", "tools/busybox:1.36")
    [doc] = json.loads(out)
    assert doc["name"] == "docker.io/tools/busybox:1.36" and doc["snapshotter"] == "native"
    assert doc["layers"][0]["unpacked"] is True
    short_id = doc["id"][7:19]
    code, out, _ = run("inspect", short_id)  # an ID prefix finds it too
    assert json.loads(out)[0]["name"] == doc["name"]

    code, out, _ = run("du")
    assert "docker.io/tools/busybox:1.36" in out and "layer snapshots" in out

    code, out, _ = run("rm", "tools/busybox:1.36")
    assert code == 0 and out.startswith("Untagged: docker.io/tools/busybox:1.36\nDeleted: 3 "
                                        "blobs, 1 layer snapshots")
    code, out, _ = run("ls", "-q")
    assert out == ""
    code, out, _ = run("prune")
    assert out.startswith("Deleted: 0 blobs, 0 layer snapshots")


def test_export_and_bundle_from_the_cli(run, busybox_layout, tmp_path):
    run("import", busybox_layout, "--name", "localhost/busybox:latest")
    code, out, _ = run("export", "busybox", str(tmp_path / "out"))
    assert code == 0 and "exported to" in out
    code, out, err = run("bundle", "--copy", "-e", "A=1", "busybox", str(tmp_path / "b"),
                         "echo", "-n", "hi")
    assert code == 0, err
    with open(out.strip()) as f:
        spec = json.load(f)
    assert spec["process"]["args"] == ["echo", "-n", "hi"] and "A=1" in spec["process"]["env"]


@pytest.mark.parametrize("argv, message", [
    (["pull", "Not A Ref"], "invalid reference"),
    (["inspect", "nothing:here"], "image nothing:here is not in the store"),
    (["rm", "nothing"], "not in the store"),
    (["import", "/nonexistent/path"], "no such file or directory"),
    (["pull", "--platform", "linux", "x"], "invalid platform"),
    (["bundle", "--copy", "missing", "/tmp/never-made"], "not in the store"),
    (["build", "dir"], "build dir needs the directory"),
])
def test_errors_are_one_line_with_status_1(run, argv, message):
    code, out, err = run(*argv)
    assert code == 1
    assert err.count("\n") == 1 and message in err
    assert err.startswith(f"superlet image {argv[0]}: error: ")


def test_usage_errors_are_one_line_with_status_2(superlet, store_root, cli_env):
    result = subprocess.run([superlet, "image", "--root", store_root, "pull"],
                            capture_output=True, text=True, env=cli_env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "the following arguments are required" in \
        result.stderr


def test_a_store_that_cannot_be_created_is_one_line(superlet, cli_env):
    result = subprocess.run([superlet, "image", "--root", "/proc/forbidden/store", "ls"],
                            capture_output=True, text=True, env=cli_env)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "cannot create image store at /proc/forbidden/store" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_every_image_command(superlet, cli_env):
    result = subprocess.run([superlet, "image", "--help"], capture_output=True, text=True,
                            env=cli_env)
    assert result.returncode == 0
    for command in ("pull", "push", "import", "export", "ls", "inspect", "rm", "prune", "du",
                    "build", "bundle", "release"):
        assert command in result.stdout
