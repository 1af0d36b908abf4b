"""Copying a rootfs faithfully, for the `native` snapshot driver (no overlayfs).

Types, modes, owners, times, xattrs and hard links survive the copy; the source
is an unpacked layer, so it is read without ever following a symlink.
"""

import contextlib
import os
import shutil
import stat


def copy_tree(src: str, dst: str) -> None:
    """Copy a rootfs preserving types, modes, owners, times, xattrs and hard links.

    The source is an unpacked layer, so it is read without ever following a symlink.
    """
    links: dict[tuple[int, int], str] = {}
    dirs: list[tuple[str, os.stat_result]] = []

    def copy_entry(source: str, target: str, st: os.stat_result) -> None:
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(target, 0o700)
            with os.scandir(source) as entries:
                for entry in entries:
                    copy_entry(entry.path, os.path.join(target, entry.name),
                               entry.stat(follow_symlinks=False))
            dirs.append((target, st))
            _copy_xattrs(source, target)
            _chown(target, st)
            return
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in links:
            os.link(links[key], target)
            return
        if stat.S_ISREG(mode):
            shutil.copyfile(source, target, follow_symlinks=False)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(source), target)
        else:
            os.mknod(target, stat.S_IFMT(mode) | 0o600, st.st_rdev)
        links[key] = target
        _copy_xattrs(source, target)
        _chown(target, st)
        if not stat.S_ISLNK(mode):
            os.chmod(target, stat.S_IMODE(mode))
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)

    copy_entry(src, dst, os.stat(src, follow_symlinks=False))
    for path, st in reversed(dirs):  # children first changed the parents' mtimes
        os.chmod(path, stat.S_IMODE(st.st_mode))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _chown(path: str, st: os.stat_result) -> None:
    try:
        os.chown(path, st.st_uid, st.st_gid, follow_symlinks=False)
    except PermissionError:
        if os.geteuid() == 0:
            raise  # unprivileged copies keep the caller's uid; root must not lose owners


def _copy_xattrs(source: str, target: str) -> None:
    try:
        names = os.listxattr(source, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        with contextlib.suppress(OSError):
            os.setxattr(target, name, os.getxattr(source, name, follow_symlinks=False),
                        follow_symlinks=False)
