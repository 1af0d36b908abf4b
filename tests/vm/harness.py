"""Run part of the test suite inside a VM with a real cgroup v2 kernel.

The development and CI machines have hybrid cgroups (v1 controllers, an empty
cgroup2), so the v2 driver's limits cannot be tested on them. This harness boots
Debian's stock kernel under `qemu-system-x86_64 -accel tcg` (software emulation:
KVM hangs on these machines), with a tiny busybox initramfs (`init`, built by
`prepare-kernel.sh`) that mounts this machine's root read-only over 9p, gives it
fresh proc/sysfs/devtmpfs, a cgroup2 hierarchy with every controller, and tmpfs
where programs write, then chroots into it and runs the venv's pytest on the
selection given. Paths are identical inside and out, so the editable install
works unchanged.

Results come back through a second, writable 9p share: `run.sh` (written here)
leaves the exit status, the pytest log and a JUnit report in it. The console
(serial port) is kept for the error message when the VM fails to boot.

    python tests/vm/harness.py [PYTEST ARGS...]
        (default: -m "cgroup_v2 or cgroups" tests/runtime)
    make vm-test
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = Path(os.environ.get("SUPERNETES_VM_CACHE", HERE / ".cache"))
# cgroup_v2: tests that need v2 (the drivers' v2 cases); cgroups: tests that run on
# whatever driver the machine has (superc's limits), here on v2.
DEFAULT_SELECTION = ["-m", "cgroup_v2 or cgroups", "tests/runtime"]
GUEST_OUT = "/run/vm-out"  # where init binds the results share inside the guest
# The guest mounts fresh tmpfs over these, hiding whatever the host has there.
GUEST_TMPFS = ("/tmp", "/run", "/var/tmp", "/root")


class VMError(RuntimeError):
    """The VM could not be prepared, did not boot, or did not report back."""


@dataclass
class Result:
    status: int  # pytest's exit status inside the VM
    tests: int
    failures: int
    errors: int
    skipped: int
    log: str  # pytest's output
    console: str  # the whole serial console
    seconds: float
    out: Path  # the results directory (run.sh, status, pytest.log, junit.xml, console.log)


def prepare(cache: Path = CACHE) -> None:
    """Fetch and unpack the kernel and build the initramfs (idempotent)."""
    proc = subprocess.run([str(HERE / "prepare-kernel.sh"), str(cache)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise VMError("preparing the VM kernel failed: "
                      + (proc.stderr.strip() or proc.stdout.strip()))


def _run_script(pytest_args: list[str]) -> str:
    pytest = REPO / ".venv" / "bin" / "pytest"
    args = " ".join(shlex.quote(a) for a in pytest_args)
    return f"""#!/bin/sh
# Written by tests/vm/harness.py; runs chrooted into the host's root, inside the VM.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 SUPERNETES_IN_VM=1
cd {shlex.quote(str(REPO))} || exit 1
{{
    {shlex.quote(str(pytest))} -p no:cacheprovider --basetemp=/tmp/pytest \\
        --junitxml={GUEST_OUT}/junit.xml {args}
    echo $? > {GUEST_OUT}/status
}} 2>&1 | tee {GUEST_OUT}/pytest.log
"""


def _precompile() -> None:
    # The guest sees the tree read-only and cannot cache bytecode; compiling here
    # first saves it seconds of emulated CPU on every start.
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0",
                    str(REPO / "runtime"), str(REPO / "tests")],
                   capture_output=True)


def qemu_command(out: Path, cache: Path = CACHE, memory_mib: int = 2048,
                 cpus: int = 2) -> list[str]:
    return [
        "qemu-system-x86_64", "-accel", "tcg", "-m", str(memory_mib), "-smp", str(cpus),
        "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
        "-no-reboot",
        "-kernel", str(cache / "vmlinuz"), "-initrd", str(cache / "initramfs.cpio.gz"),
        "-append", "console=ttyS0 panic=-1 loglevel=4",
        # multidevs=remap: / spans several host file systems (proc, sysfs...) whose
        # inode numbers collide over 9p; the guest then loses mounts made on them.
        "-virtfs", "local,path=/,mount_tag=host,readonly=on,security_model=none,"
                   "multidevs=remap,id=host",
        "-virtfs", f"local,path={out},mount_tag=out,security_model=none,id=out",
    ]


def run(pytest_args: list[str] | None = None, out: Path | None = None,
        timeout: float = 480.0, echo: bool = False, cache: Path | None = None) -> Result:
    """Boot the VM, run pytest with `pytest_args` inside, return what it reported.

    `cache` given means a prepared kernel is already there (nothing is fetched).
    """
    if not (REPO / ".venv" / "bin" / "pytest").exists():
        raise VMError(f"no venv at {REPO / '.venv'}: run `make venv` first")
    hidden = [d for d in GUEST_TMPFS if str(REPO) == d or str(REPO).startswith(d + "/")]
    if hidden:
        raise VMError(f"the checkout {REPO} lies below {hidden[0]}, which the VM replaces "
                      "with an empty tmpfs; run the harness from a checkout elsewhere")
    if cache is None:
        cache = CACHE
        prepare(cache)
    _precompile()
    out = Path(out or tempfile.mkdtemp(prefix="supernetes-vm-"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.sh").write_text(_run_script(pytest_args or DEFAULT_SELECTION))
    console_path = out / "console.log"
    started = time.monotonic()
    with open(console_path, "wb") as console:
        sink = None if echo else console
        try:
            proc = subprocess.Popen(qemu_command(out, cache), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE if echo else sink,
                                    stderr=subprocess.STDOUT)
        except FileNotFoundError as exc:
            raise VMError("qemu-system-x86_64 is missing: `make install` (package "
                          "qemu-system-x86) installs it") from exc
        try:
            if echo:
                assert proc.stdout is not None
                for chunk in iter(lambda: proc.stdout.read1(4096), b""):
                    console.write(chunk)
                    sys.stdout.buffer.write(chunk)
                    sys.stdout.flush()
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise VMError(f"the VM did not finish within {timeout:g}s; console:\n"
                          + _tail(console_path)) from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
    seconds = time.monotonic() - started
    status_file = out / "status"
    if not status_file.exists():
        raise VMError(f"the VM exited (qemu status {proc.returncode}) without running the "
                      "tests; console:\n" + _tail(console_path))
    counts = _junit_counts(out / "junit.xml")
    log = (out / "pytest.log").read_text(errors="replace") if (out / "pytest.log").exists() else ""
    return Result(status=int(status_file.read_text().strip() or 255), log=log,
                  console=console_path.read_text(errors="replace"), seconds=seconds, out=out,
                  **counts)


def _junit_counts(path: Path) -> dict[str, int]:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if not path.exists():
        return counts
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for key in counts:
            counts[key] += int(suite.get(key, 0))
    return counts


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no console output)"


def main(argv: list[str]) -> int:
    try:
        result = run(argv or None, echo=True)
    except VMError as exc:
        print(f"vm: {exc}", file=sys.stderr)
        return 2
    print(f"vm: results and console in {result.out}", file=sys.stderr)
    print(f"vm: {result.tests} tests, {result.failures} failed, {result.errors} errors, "
          f"{result.skipped} skipped, pytest status {result.status}, "
          f"{result.seconds:.1f}s with boot", file=sys.stderr)
    return result.status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
