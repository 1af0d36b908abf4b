"""Fixtures for superc's tests: a busybox bundle, the CLI, the library API.

`bundle` is an OCI bundle under tmp_path: a rootfs holding /bin/busybox (from
Debian's busybox-static) with a symlink per applet, and `superc spec`'s default
config.json, changed to run without a terminal. Tests edit `bundle.config` (a
dict) and call `bundle.save()`.

`superc(...)` runs the real `superc` command with `--root` in tmp_path and
returns the CompletedProcess; `runtime` is an `api.Runtime` on the same root.
Teardown force-deletes whatever containers a test left, so a failing test does
not also fail the leak check of the next.

Helpers are fixtures because test modules cannot import this conftest under
pytest's importlib mode.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from supernetes.runtime.api import Runtime
from supernetes.runtime.errors import SupercError
from supernetes.runtime.specgen import default_spec

BUSYBOX = "/bin/busybox"
SUPERC = os.path.join(os.path.dirname(sys.executable), "superc")


@pytest.fixture(scope="session")
def busybox_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not os.path.exists(BUSYBOX):
        pytest.skip("needs /bin/busybox (apt install busybox-static)")
    root = tmp_path_factory.mktemp("busybox-template")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    shutil.copy2(BUSYBOX, bin_dir / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox" and "/" not in applet:
            os.symlink("busybox", bin_dir / applet)
    return str(root)


class Bundle:
    def __init__(self, path: str, template: str) -> None:
        self.path = path
        self.rootfs = os.path.join(path, "rootfs")
        os.makedirs(os.path.join(self.rootfs, "bin"))
        for name in ("proc", "dev", "sys", "tmp", "etc"):
            os.mkdir(os.path.join(self.rootfs, name))
        # A hard link, not a copy: every test gets its own tree for the price of a link.
        for entry in os.scandir(os.path.join(template, "bin")):
            dest = os.path.join(self.rootfs, "bin", entry.name)
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), dest)
            else:
                os.link(entry.path, dest)
        with open(os.path.join(self.rootfs, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n")
        self.config = default_spec()
        self.config["process"]["terminal"] = False
        self.config["process"]["args"] = ["true"]
        self.config["hostname"] = "superc-test"
        self.save()

    def args(self, *args: str) -> Bundle:
        self.config["process"]["args"] = list(args)
        return self.save()

    def sh(self, script: str) -> Bundle:
        return self.args("sh", "-c", script)

    def save(self) -> Bundle:
        with open(os.path.join(self.path, "config.json"), "w") as f:
            json.dump(self.config, f, indent=1)
        return self


@pytest.fixture
def bundle(tmp_path, busybox_template: str) -> Bundle:
    path = tmp_path / "bundle"
    path.mkdir()
    return Bundle(str(path), busybox_template)


@pytest.fixture
def state_root(tmp_path) -> str:
    return str(tmp_path / "state")


@pytest.fixture
def runtime(state_root: str):
    rt = Runtime(root=state_root)
    yield rt
    for state in rt.list():
        try:
            rt.delete(state["id"], force=True)
        except SupercError:
            pass


@pytest.fixture
def superc(state_root: str, runtime: Runtime, tmp_path):
    """Run the real CLI: superc(*args, check=..., timeout=...) -> CompletedProcess.

    Output goes through files, not pipes: a detached container inherits superc's
    stdout (as with runc), and a pipe would not reach EOF until the container exits.
    """
    calls = iter(range(1 << 30))

    def run(*args: str, input: str | None = None, timeout: float = 60,
            root: bool = True, check: bool = False) -> subprocess.CompletedProcess:
        argv = [SUPERC, *(("--root", state_root) if root else ()), *args]
        n = next(calls)
        out_path, err_path = tmp_path / f".superc-{n}.out", tmp_path / f".superc-{n}.err"
        with open(out_path, "w+") as out, open(err_path, "w+") as err:
            code = subprocess.run(argv, stdout=out, stderr=err, text=True, input=input,
                                  timeout=timeout,
                                  stdin=None if input is not None else subprocess.DEVNULL
                                  ).returncode
        result = subprocess.CompletedProcess(argv, code, out_path.read_text(),
                                             err_path.read_text())
        if check:
            assert code == 0, f"superc {' '.join(args)}: {result.stderr}"
        return result

    return run


@pytest.fixture
def run_detached(superc, bundle):
    """`superc run -d` of the bundle as `cid`; fails the test if it does not start."""

    def run(cid: str = "c1") -> None:
        result = superc("run", "-d", "--bundle", bundle.path, cid)
        assert result.returncode == 0, result.stderr

    return run


@pytest.fixture
def superc_argv(state_root: str, runtime: Runtime) -> list[str]:
    """The command line prefix for a superc of our own (for Popen)."""
    return [SUPERC, "--root", state_root]


@pytest.fixture
def unique() -> str:
    """A short unique name for machine-wide objects (netns, IDs)."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def wait_for():
    def wait(predicate, timeout: float = 10.0, interval: float = 0.02):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")

    return wait
