"""overlayfs mounts for container rootfs: mount a layer stack, unmount it, probe for support.

All mount syscalls go through the runtime's syscall layer (`supernetes.runtime.linux`),
the one module that talks to libc. mount(2) carries its options in one page, which
a stack of ~35 layers with long store paths overflows; such stacks are mounted
with the new mount API instead, one `fsconfig("lowerdir+")` per layer (Linux 6.8+).
"""

import errno
import os
import tempfile

from supernetes.runtime import linux

from .errors import SnapshotError

_PAGE = os.sysconf("SC_PAGE_SIZE")


def supported() -> bool:
    """Root, and overlayfs registered in this kernel."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/filesystems") as f:
            return any(line.split()[-1] == "overlay" for line in f if line.strip())
    except OSError:
        return False


def probe(root: str) -> bool:
    """Can we mount an overlay with its upper dir on the store's file system?"""
    os.makedirs(root, mode=0o700, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="probe-", dir=root) as tmp:
        paths = {name: os.path.join(tmp, name) for name in ("lower", "upper", "work", "merged")}
        for path in paths.values():
            os.mkdir(path)
        try:
            linux.mount("overlay", paths["merged"], "overlay", 0,
                        f"lowerdir={paths['lower']},upperdir={paths['upper']},"
                        f"workdir={paths['work']}")
        except OSError:
            return False
        linux.umount2(paths["merged"])
        return True


def mount(lowers: list[str], target: str, upper: str | None = None,
          work: str | None = None) -> None:
    """Mount `lowers` (top layer first) at `target`; read-only unless upper/work are given."""
    for path in lowers:
        if ":" in path or "," in path:
            raise SnapshotError(f"store path {path!r} contains ':' or ',' which overlayfs "
                                "options cannot carry")
    options = "lowerdir=" + ":".join(lowers)
    if upper:
        options += f",upperdir={upper},workdir={work}"
    if len(options) >= _PAGE:
        _mount_layer_by_layer(lowers, target, upper, work)
        return
    try:
        linux.mount("overlay", target, "overlay", 0, options)
    except OSError as exc:
        raise SnapshotError(f"overlay mount on {target} failed: {exc.strerror}") from exc


def _mount_layer_by_layer(lowers: list[str], target: str, upper: str | None,
                          work: str | None) -> None:
    """An overlay too long for mount(2)'s one-page options: one fsconfig() per layer.

    `lowerdir+` appends a single lower dir, top first (Linux 6.8+); older kernels
    refuse the key, and the image then has more layers than this kernel can stack
    with paths this long.
    """
    fs_fd = mount_fd = -1
    try:
        fs_fd = linux.fsopen("overlay")
        for lower in lowers:
            linux.fsconfig(fs_fd, linux.FSCONFIG_SET_STRING, "lowerdir+", lower)
        if upper:
            linux.fsconfig(fs_fd, linux.FSCONFIG_SET_STRING, "upperdir", upper)
            linux.fsconfig(fs_fd, linux.FSCONFIG_SET_STRING, "workdir", work)
        linux.fsconfig(fs_fd, linux.FSCONFIG_CMD_CREATE)
        mount_fd = linux.fsmount(fs_fd)
        linux.move_mount(mount_fd, target)
    except OSError as exc:
        hint = " (mount(2) takes one page of options; layer-by-layer overlay mounts need " \
               "Linux 6.8+)" if exc.filename == "lowerdir+" or exc.errno == errno.ENOSYS else ""
        raise SnapshotError(f"overlay mount of {len(lowers)} layers on {target} failed: "
                            f"{exc.strerror}{hint}") from exc
    finally:
        for fd in (mount_fd, fs_fd):
            if fd >= 0:
                os.close(fd)


def unmount(path: str) -> None:
    try:
        linux.umount2(path)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return  # not a mount point (never mounted, or already gone)
        if exc.errno == errno.ENOENT:
            return
        if exc.errno != errno.EBUSY:
            raise SnapshotError(f"cannot unmount {path}: {exc.strerror}") from exc
        # Busy (a process still has its cwd there): detach now, the kernel frees it later.
        linux.umount2(path, linux.MNT_DETACH)
