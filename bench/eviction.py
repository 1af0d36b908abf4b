"""Benchmark of the local storage measurement behind eviction (agent/eviction.py).

    .venv/bin/python bench/eviction.py [--files 10000] [--rounds 15]

Builds a tree like a busy emptyDir (`--files` small files, 100 per directory,
plus a few large ones) under a temporary directory, then measures, with peers
in the same run:

- `eviction.disk_usage` (one scandir walk, st_blocks, no process), wall and CPU;
- the peer `du -s --block-size=1` run as a process (what a kubelet-less script
  would do per check, and what cAdvisor's fallback does), wall;
- the image store's `dir_size` (rootfs-tools/store.py), the other walker in
  the code base.

All three must agree on the byte count. Medians of wall and CPU time (user +
system, the child's included for `du`) are printed with ratios against `du`;
nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

from supernetes.agent.eviction import disk_usage
from supernetes.rootfs.store import dir_size


def build_tree(root: str, files: int) -> None:
    for i in range(files):
        folder = os.path.join(root, f"d{i // 100:04d}")
        if i % 100 == 0:
            os.makedirs(folder)
        with open(os.path.join(folder, f"f{i}"), "wb") as f:
            f.write(b"x" * (i % 7 * 1000 + 1))
    for i in range(4):
        with open(os.path.join(root, f"big{i}"), "wb") as f:
            f.write(os.urandom(1 << 20))


def _cpu() -> float:
    """CPU seconds (user + system) of this process and of its finished children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(fn, rounds: int) -> tuple[float, float, int]:
    walls, cpus, result = [], [], 0
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), _cpu()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def du(root: str) -> int:
    out = subprocess.run(["du", "-s", "--block-size=1", root], check=True,
                         capture_output=True, text=True).stdout
    return int(out.split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-eviction-")
    try:
        build_tree(root, args.files)
        du(root)  # warm the dentry and inode caches for everyone alike
        peer_wall, peer_cpu, peer_bytes = timed(lambda: du(root), args.rounds)
        ours_wall, ours_cpu, ours_bytes = timed(lambda: disk_usage(root), args.rounds)
        store_wall, store_cpu, store_bytes = timed(lambda: dir_size(root), args.rounds)
        print(f"tree: {args.files} files, {peer_bytes / 2**20:.1f} MiB; "
              f"median of {args.rounds} rounds")
        rows = [("du -s (a process)", peer_wall, peer_cpu, peer_bytes),
                ("eviction.disk_usage", ours_wall, ours_cpu, ours_bytes),
                ("rootfs store.dir_size", store_wall, store_cpu, store_bytes)]
        for name, wall, cpu, used in rows:
            print(f"  {name:24} {wall * 1000:7.1f} ms wall (x{wall / peer_wall:.2f})  "
                  f"{cpu * 1000:7.1f} ms CPU (x{cpu / peer_cpu:.2f})  {used} bytes")
        if ours_bytes != peer_bytes:
            print(f"  MISMATCH: disk_usage {ours_bytes} != du {peer_bytes}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
