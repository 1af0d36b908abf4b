#!/usr/bin/env python3
"""Container start-up: `superc run`, superc's warm spawner path and `runc run`, side by side.

N full lifecycles (create, start, wait, delete) of /bin/true in one busybox bundle
with each of the three, interleaved (superc, warm, runc, superc, ...) so that load
from anything else on the machine hits all three alike. Prints the median and p90
of each in milliseconds, the ratios to runc, and the peak RSS of `superc run` (the
largest of its processes, from wait4()). CPU time too, which load distorts less:
per lifecycle from wait4() for the commands, and for the warm path the spawner's
own plus that of the monitors it reaped (which reaped the inits), as a mean, since
one lifecycle is a few clock ticks.

    sudo .venv/bin/python bench/runtime_start.py [-n 50]

Targets (issue 3): superc run <= 1.0x runc run; warm path <= 0.3x runc; peak RSS of
superc run <= 30 MiB. Also printed: how much of `superc run` is the interpreter
starting up, and the part of that which site's editable-install finder adds (a
`pip install -e .` venv imports pathlib & co. on every start; a normal install
does not).

--installed also measures superc from a regular (non-editable) install into a
throw-away venv, built from this checkout without network access.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VENV_BIN = os.path.dirname(sys.executable)
SUPERC = os.path.join(VENV_BIN, "superc")


def make_bundle(path: str) -> None:
    rootfs = os.path.join(path, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    for name in ("proc", "dev", "sys", "tmp"):
        os.mkdir(os.path.join(rootfs, name))
    shutil.copy2("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    for applet in ("sh", "true"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    # The same config for both runtimes: runc's own defaults, /bin/true, no terminal.
    subprocess.run(["runc", "spec"], cwd=path, check=True)
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    config["process"]["terminal"] = False
    config["process"]["args"] = ["/bin/true"]
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f)


def timed(argv: list[str]) -> tuple[float, int, float]:
    """Wall ms, peak RSS (KiB) and CPU ms (user + system) of a command and all it waited for."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed with {proc.returncode}")
    return elapsed, usage.ru_maxrss, (usage.ru_utime + usage.ru_stime) * 1000


def process_cpu_ms(pid: int) -> float:
    """CPU ms (user + system) of a live process and of the children it has reaped."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), counted after the ")".
    return sum(int(x) for x in fields[11:15]) * 1000 / os.sysconf("SC_CLK_TCK")


def python_startup(python: str, n: int = 15) -> tuple[float, float]:
    """Median ms of `python -c pass` and of `python -S -c pass` (no site at all)."""
    def median(argv: list[str]) -> float:
        return statistics.median(timed(argv)[0] for _ in range(n))


    return median([python, "-c", "pass"]), median([python, "-S", "-c", "pass"])


def installed_superc(tmp: str) -> str:
    """superc from `pip install .` (not -e) into a throw-away venv, offline."""
    venv = os.path.join(tmp, "venv")
    subprocess.run(["/usr/bin/python3", "-m", "venv", venv], check=True)
    python = os.path.join(venv, "bin", "python")

    def purelib(interpreter: str) -> str:
        return subprocess.run([interpreter, "-c",
                               "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()

    # Dependencies (python-prctl, and wheel for the build) come from the development
    # venv by a plain path entry, which costs nothing at start-up.
    with open(os.path.join(purelib(python), "zz-dev-venv-deps.pth"), "w") as f:
        f.write(purelib(sys.executable) + "\n")
    # Installed by this venv's pip (`make install` keeps it current), not the venv's own:
    # the pip that Debian's `python3 -m venv` bundles (23.0) writes console scripts
    # that `import re` (re, enum, functools...: ~5 ms of CPU per `superc` start),
    # which current pip no longer does.
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                    "--no-deps", "--no-index", "--no-build-isolation", REPO], check=True)
    site = purelib(python)
    subprocess.run([os.path.join(venv, "bin", "python"), "-m", "compileall", "-q", site],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(venv, "bin", "superc")


def summary(name: str, values: list[float], runc: float | None) -> str:
    med = statistics.median(values)
    p90 = sorted(values)[int(len(values) * 0.9) - 1]
    ratio = f"   {med / runc:.2f}x runc" if runc else ""
    return f"  {name:<28} median {med:7.1f} ms   p90 {p90:7.1f} ms{ratio}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=50, help="lifecycles per runtime (default 50)")
    parser.add_argument("--installed", action="store_true",
                        help="also time superc from a regular, non-editable install")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: containers need namespaces, mounts and cgroups")
    if shutil.which("runc") is None:
        raise SystemExit("runc (the peer) is not installed: apt-get install runc")

    # Bytecode caches, so no run pays for compiling (PYTHONDONTWRITEBYTECODE may be set),
    # where the installed package is imported from (a strict editable install's links).
    import supernetes

    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    os.path.dirname(supernetes.__file__)], check=True, stdout=subprocess.DEVNULL)
    from supernetes.runtime.spawner import SpawnerClient

    with tempfile.TemporaryDirectory(prefix="superc-bench-") as tmp:
        bundle = os.path.join(tmp, "bundle")
        make_bundle(bundle)
        root = os.path.join(tmp, "superc-state")
        runc_root = os.path.join(tmp, "runc-state")
        spawner = SpawnerClient.launch(os.path.join(tmp, "spawner.sock"), root=root)
        variants = {"superc run": [SUPERC, "--root", root, "run", "--bundle", bundle]}
        if args.installed:
            variants["superc run (pip install .)"] = [installed_superc(tmp), "--root", root,
                                                      "run", "--bundle", bundle]
        variants["runc run"] = ["runc", "--root", runc_root, "run", "--bundle", bundle]
        times: dict[str, list[float]] = {name: [] for name in variants}
        times["warm spawner (library)"] = []
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        rss: list[int] = []
        warm_cpu = 0.0
        try:
            for i in range(args.n + 2):
                for name, argv in variants.items():
                    ms, peak, cpu_ms = timed([*argv, f"b{i}"])
                    if i >= 2:  # two warm-up rounds: page cache, cgroup trees
                        times[name].append(ms)
                        cpu[name].append(cpu_ms)
                        if name == "superc run":
                            rss.append(peak)
                cpu_before = process_cpu_ms(spawner.process.pid)
                start = time.perf_counter()
                if spawner.run(f"w{i}", bundle) != 0:
                    raise SystemExit("the warm path's container failed")
                if i >= 2:
                    times["warm spawner (library)"].append((time.perf_counter() - start) * 1000)
                    # The spawner reaped the monitor, which reaped the init: all three.
                    warm_cpu += process_cpu_ms(spawner.process.pid) - cpu_before
        finally:
            spawner.close()
        with_site, bare = python_startup(sys.executable)

    runc = statistics.median(times["runc run"])
    print(f"{args.n} lifecycles of /bin/true each, interleaved "
          f"(load average {os.getloadavg()[0]:.1f}):")
    for name, values in times.items():
        print(summary(name, values, None if name == "runc run" else runc))
    print("CPU time (user + system, all processes of one lifecycle; robust to load):")
    runc_cpu = statistics.median(cpu["runc run"])
    for name, values in cpu.items():
        med = statistics.median(values)
        ratio = "" if name == "runc run" else f"   {med / runc_cpu:.2f}x runc"
        print(f"  {name:<28} median {med:7.1f} ms{ratio}")
    # Clock ticks are too coarse for one warm lifecycle: the mean over all of them.
    warm_mean = warm_cpu / args.n
    print(f"  {'warm spawner (library)':<28} mean   {warm_mean:7.1f} ms   "
          f"{warm_mean / runc_cpu:.2f}x runc (spawner, monitor and init)")
    print(f"  peak RSS of superc run:      {max(rss) / 1024:.1f} MiB (max of {len(rss)} runs)")
    print(f"  python start-up in this venv: {with_site:.1f} ms, of which site "
          f"(with any editable-install finder) {with_site - bare:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
