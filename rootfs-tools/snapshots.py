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
interrupted unpack never leaves a half layer that counts as present. Mounting is
`overlay.py`'s, copying `treecopy.py`'s.
"""

import contextlib
import errno
import fcntl
import json
import os
import re
import tempfile

from . import digest as digests
from . import overlay
from .errors import SnapshotError
from .store import dir_size, rmtree
from .treecopy import copy_tree
from .unpack import Unpacker

DRIVERS = ("overlay", "native")
_CONTAINER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class Snapshotter:
    def __init__(self, root: str, driver: str = "auto"):
        self.root = root
        if driver == "auto":
            driver = "overlay" if overlay.supported() and overlay.probe(root) else "native"
        if driver not in DRIVERS:
            raise SnapshotError(f"unknown snapshot driver {driver!r} "
                                "(want overlay, native or auto)")
        if driver == "overlay" and not overlay.supported():
            raise SnapshotError("the overlay snapshot driver needs root and overlayfs")
        self.driver = driver
        self.dir = os.path.join(root, "snapshots", driver)
        self.containers_dir = os.path.join(root, "containers")
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        os.makedirs(self.containers_dir, mode=0o700, exist_ok=True)

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
        overlay.unmount(target)

    def _mount(self, chain_ids: list[str], target: str, upper: str | None = None,
               work: str | None = None) -> None:
        lowers = [os.path.join(self.dir, "empty") if c == "empty" else self.path(c)
                  for c in reversed(chain_ids)]  # overlayfs lists the top layer first
        overlay.mount(lowers, target, upper, work)

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
            overlay.unmount(rootfs)
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
