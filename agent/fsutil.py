"""Removing the agent's directories safely: never through a mount point.

Pod directories hold mount points (overlay rootfs, tmpfs volumes, bind-mounted
namespaces). An `rm -rf` that followed one of them could delete a container's
files, or through a hostPath-like bind, the host's. So removal first asks the
kernel what is mounted below (`mount_points_below`), unmounts what the caller
owns, and `remove_tree` refuses to descend into anything still mounted or on
another filesystem.
"""

from __future__ import annotations

import os

from supernetes.runtime import linux


class UnsafeRemoval(OSError):
    """Something is still mounted below a directory that was to be removed."""


def mount_points_below(root: str) -> list[str]:
    """Mount points strictly below `root`, deepest first."""
    prefix = root.rstrip("/") + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    return sorted({p for p in points if p.startswith(prefix)}, key=len, reverse=True)


def unmount_below(root: str) -> None:
    """Detach every mount below `root`, deepest first (MNT_DETACH: busy ones too)."""
    for point in mount_points_below(root):
        try:
            linux.umount2(point, linux.MNT_DETACH)
        except OSError:
            pass  # already gone: a parent's detach took it along


def remove_tree(root: str) -> None:
    """rm -rf that refuses to cross a mount point or a filesystem boundary."""
    if not os.path.lexists(root):
        return
    if not os.path.isdir(root) or os.path.islink(root):
        os.unlink(root)
        return
    if mount_points_below(root) or os.path.ismount(root):
        raise UnsafeRemoval(f"refusing to remove {root}: something is still mounted there")
    device = os.lstat(root).st_dev

    def remove(path: str) -> None:
        for entry in os.scandir(path):
            if entry.is_dir(follow_symlinks=False):
                if entry.stat(follow_symlinks=False).st_dev != device:
                    raise UnsafeRemoval(f"refusing to remove {entry.path}: another filesystem")
                remove(entry.path)
            else:
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    pass
        os.rmdir(path)

    remove(root)
