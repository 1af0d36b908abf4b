"""Snapshots: each layer unpacked once, keyed by chain ID; container rootfs stacked on top.

    <root>/snapshots/overlay/<chain-hex>/fs   one layer's own files, whiteouts in overlay form
    <root>/snapshots/native/<chain-hex>/fs    the whole tree up to that layer (copy driver)
    <root>/containers/<id>/                   upper/ work/ rootfs/ and container.json

Two drivers. `overlay` (root, overlayfs available): a container's rootfs is an
overlay mount, lower = the image's layer dirs, upper/work private to the
container, so starting the 100th container of an image copies nothing and its
writes land only in its own upper dir. `native` (no overlayfs, or not root): each
snapshot holds the full tree (its parent copied, then the layer applied) and a
container gets a copy of the top one - slow but it works anywhere. `auto` picks
overlay when a probe mount succeeds.

A snapshot is unpacked into `tmp-*` and renamed into place when complete, so an
interrupted unpack never leaves a half layer that counts as present. Mounts go
through the runtime's syscall layer (`supernetes.runtime.linux`).
"""

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import stat
import tempfile

from supernetes.runtime import linux

from . import digest as digests
from .errors import SnapshotError
from .store import dir_size, rmtree
from .unpack import Unpacker

DRIVERS = ("overlay", "native")
_CONTAINER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def overlay_supported() -> bool:
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/filesystems") as f:
            return any(line.split()[-1] == "overlay" for line in f if line.strip())
    except OSError:
        return False


class Snapshotter:
    def __init__(self, root: str, driver: str = "auto"):
        self.root = root
        if driver == "auto":
            driver = "overlay" if overlay_supported() and self._probe(root) else "native"
        if driver not in DRIVERS:
            raise SnapshotError(f"unknown snapshot driver {driver!r} "
                                "(want overlay, native or auto)")
        if driver == "overlay" and not overlay_supported():
            raise SnapshotError("the overlay snapshot driver needs root and overlayfs")
        self.driver = driver
        self.dir = os.path.join(root, "snapshots", driver)
        self.containers_dir = os.path.join(root, "containers")
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        os.makedirs(self.containers_dir, mode=0o700, exist_ok=True)

    @staticmethod
    def _probe(root: str) -> bool:
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

    # --- layer snapshots -----------------------------------------------------------------------

    def path(self, chain_id: str) -> str:
        return os.path.join(self.dir, digests.parse(chain_id)[1], "fs")

    def has(self, chain_id: str) -> bool:
        return os.path.isdir(self.path(chain_id))

    def unpack(self, chain_id: str, parent: str | None, diff_id: str, stream) -> None:
        """Make snapshot `chain_id` from a layer stream (verified against `diff_id`)."""
        if self.has(chain_id):
            return
        final = os.path.dirname(self.path(chain_id))
        tmp = tempfile.mkdtemp(prefix="tmp-", dir=self.dir)
        # Held while we work: remove_abandoned() deletes only tmp dirs nobody locks.
        lock = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            fs = os.path.join(tmp, "fs")
            if self.driver == "native" and parent is not None:
                copy_tree(self.path(parent), fs)
            else:
                os.mkdir(fs, 0o755)
            mode = "overlay" if self.driver == "overlay" else "apply"
            Unpacker(fs, mode, base=parent is None).apply(stream, diff_id)
            with open(os.path.join(tmp, "snapshot.json"), "w") as f:
                json.dump({"chain_id": chain_id, "diff_id": diff_id, "parent": parent}, f)
            try:
                os.rename(tmp, final)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                # Another pull unpacked the same layer first; keep theirs.
        finally:
            if os.path.exists(tmp):
                rmtree(tmp)
            os.close(lock)

    def list_all(self) -> list[tuple[str, str]]:
        """(driver, chain ID) of every snapshot, whichever driver made it (for GC and du)."""
        found = []
        for driver in DRIVERS:
            directory = os.path.join(self.root, "snapshots", driver)
            if os.path.isdir(directory):
                found.extend((driver, f"sha256:{name}") for name in os.listdir(directory)
                             if len(name) == 64)
        return found

    def _snapshot_dir(self, chain_id: str, driver: str | None) -> str:
        return os.path.join(self.root, "snapshots", driver or self.driver,
                            digests.parse(chain_id)[1])

    def remove(self, chain_id: str, driver: str | None = None) -> None:
        rmtree(self._snapshot_dir(chain_id, driver))

    def remove_abandoned(self) -> int:
        """Delete tmp-* dirs of unpacks whose process is gone (nobody holds their flock)."""
        freed = 0
        for driver in DRIVERS:
            freed += self._remove_abandoned(os.path.join(self.root, "snapshots", driver))
        return freed

    @staticmethod
    def _remove_abandoned(directory: str) -> int:
        freed = 0
        names = os.listdir(directory) if os.path.isdir(directory) else []
        for name in names:
            if not name.startswith("tmp-"):
                continue
            path = os.path.join(directory, name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                freed += dir_size(path)
                rmtree(path)
            except BlockingIOError:
                pass  # an unpack in progress
            finally:
                os.close(fd)
        return freed

    def size(self, chain_id: str, driver: str | None = None) -> int:
        return dir_size(self._snapshot_dir(chain_id, driver))

    # --- container rootfs --------------------------------------------------------------------

    def prepare(self, container_id: str, chain_ids: list[str], target: str | None = None,
                image: str = "") -> str:
        """Give container `container_id` a writable rootfs of the image; return its path."""
        if not _CONTAINER_ID.fullmatch(container_id or ""):
            raise SnapshotError(f"invalid container id {container_id!r}")
        if not chain_ids:
            raise SnapshotError("an image without layers has no rootfs")
        for chain_id in chain_ids:
            if not self.has(chain_id):
                raise SnapshotError(f"layer snapshot {chain_id} is not unpacked (pull the image)")
        home = os.path.join(self.containers_dir, container_id)
        try:
            os.mkdir(home, 0o700)
        except FileExistsError as exc:
            raise SnapshotError(f"container {container_id} already has a rootfs") from exc
        rootfs = os.path.abspath(target or os.path.join(home, "rootfs"))
        record = {"id": container_id, "driver": self.driver, "image": image,
                  "chain_ids": chain_ids, "rootfs": rootfs, "mounted": False}
        try:
            self._write_record(home, record)
            if self.driver == "overlay":
                for name in ("upper", "work"):
                    os.mkdir(os.path.join(home, name), 0o755)
                os.makedirs(rootfs, mode=0o755, exist_ok=True)
                self._mount(chain_ids, rootfs, os.path.join(home, "upper"),
                            os.path.join(home, "work"))
                record["mounted"] = True
                self._write_record(home, record)
            else:
                if os.path.lexists(rootfs) and os.listdir(rootfs):
                    raise SnapshotError(f"rootfs target {rootfs} is not empty")
                with contextlib.suppress(FileNotFoundError):
                    os.rmdir(rootfs)
                copy_tree(self.path(chain_ids[-1]), rootfs)
        except BaseException:
            self.release(container_id)
            raise
        return rootfs

    def mount_readonly(self, chain_ids: list[str], target: str) -> None:
        """Mount the image's merged tree read-only at `target` (inspection, comparison)."""
        if self.driver != "overlay":
            raise SnapshotError("read-only image mounts need the overlay driver")
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty, mode=0o755, exist_ok=True)
        # overlayfs refuses a single lower dir without an upper; an empty bottom layer is harmless.
        self._mount(chain_ids + ["empty"] if len(chain_ids) == 1 else chain_ids, target)

    @staticmethod
    def unmount(target: str) -> None:
        _unmount(target)

    def _mount(self, chain_ids: list[str], target: str, upper: str | None = None,
               work: str | None = None) -> None:
        lowers = [os.path.join(self.dir, "empty") if c == "empty" else self.path(c)
                  for c in reversed(chain_ids)]  # overlayfs lists the top layer first
        for path in lowers:
            if ":" in path or "," in path:
                raise SnapshotError(f"store path {path!r} contains ':' or ',' which overlayfs "
                                    "options cannot carry")
        options = "lowerdir=" + ":".join(lowers)
        if upper:
            options += f",upperdir={upper},workdir={work}"
        if len(options) >= _PAGE:
            return _mount_layer_by_layer(lowers, target, upper, work)
        try:
            linux.mount("overlay", target, "overlay", 0, options)
        except OSError as exc:
            raise SnapshotError(f"overlay mount on {target} failed: {exc.strerror}") from exc

    def release(self, container_id: str) -> None:
        """Unmount and delete a container's rootfs and its upper dir; unknown ids are fine."""
        home = os.path.join(self.containers_dir, container_id)
        record = self._read_record(home)
        if record is None:
            if os.path.isdir(home):
                rmtree(home)
            return
        rootfs = record["rootfs"]
        if record.get("driver") == "overlay":
            _unmount(rootfs)
            if os.path.ismount(rootfs):
                raise SnapshotError(f"{rootfs} is still mounted; not deleting its upper dir")
            if rootfs != os.path.join(home, "rootfs"):
                with contextlib.suppress(OSError):
                    os.rmdir(rootfs)
        elif os.path.lexists(rootfs):
            rmtree(rootfs)
        rmtree(home)

    def containers(self) -> dict[str, dict]:
        found = {}
        for name in sorted(os.listdir(self.containers_dir)):
            record = self._read_record(os.path.join(self.containers_dir, name))
            if record is not None:
                found[name] = record
        return found

    def container_size(self, container_id: str) -> int:
        """Bytes a container wrote: its upper dir (overlay) or its whole copy (native)."""
        home = os.path.join(self.containers_dir, container_id)
        record = self._read_record(home) or {}
        if record.get("driver") == "native":
            return dir_size(record["rootfs"])
        return dir_size(os.path.join(home, "upper"))

    @staticmethod
    def _write_record(home: str, record: dict) -> None:
        tmp = os.path.join(home, "container.json.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(home, "container.json"))

    @staticmethod
    def _read_record(home: str) -> dict | None:
        try:
            with open(os.path.join(home, "container.json")) as f:
                return json.load(f)
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None


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


def _unmount(path: str) -> None:
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
