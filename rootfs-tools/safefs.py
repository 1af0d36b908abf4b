"""A directory tree written through file descriptors, never through a symlink.

The layer unpacker must not be talked into writing outside its target by the
layer itself. Checking paths as strings is not enough (a previously unpacked
symlink `a -> /etc` turns `a/passwd` into `/etc/passwd`, and a string check races
with anything that changes the tree). So every operation here starts from an
open descriptor of the root and walks one component at a time with
`openat(O_NOFOLLOW | O_DIRECTORY)`: a symlink in the middle of a path makes the
walk fail (ELOOP/ENOTDIR) instead of being followed, and the final component is
then created with `*at()` calls that do not follow it either (O_EXCL, mknodat,
symlinkat, linkat without AT_SYMLINK_FOLLOW). Paths are tuples of components that
the caller has already cleaned (no `..`, no empty parts).

Directory descriptors are cached (entries of one directory usually arrive
together); anything that removes a directory drops the cache, because a cached
descriptor of a deleted directory would silently swallow writes.
"""

import collections
import contextlib
import errno
import os
import shutil
import stat

from .errors import UnpackError, UnsafeLayer

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CACHE_SIZE = 128

Parts = tuple[str, ...]


def show(parts: Parts) -> str:
    return "/".join(parts) or "."


class Tree:
    def __init__(self, root: str):
        try:
            # The root is the caller's choice, not the layer's: it may be reached via a link.
            self.root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise UnpackError(f"cannot open unpack target {root}: {exc.strerror}") from exc
        self._cache: collections.OrderedDict[Parts, int] = collections.OrderedDict()

    def close(self) -> None:
        self.forget()
        os.close(self.root_fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def forget(self) -> None:
        while self._cache:
            os.close(self._cache.popitem()[1])

    def dir_fd(self, parts: Parts, create: bool = False) -> int:
        """Descriptor of directory `parts` (the root for `()`); create missing ones if asked.

        Raises UnsafeLayer when a component is a symlink, UnpackError when it is some
        other non-directory, FileNotFoundError when missing and `create` is false.
        The descriptor belongs to the cache: do not close it.
        """
        if not parts:
            return self.root_fd
        fd = self._cache.get(parts)
        if fd is not None:
            self._cache.move_to_end(parts)
            return fd
        parent = self.dir_fd(parts[:-1], create)
        name = parts[-1]
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
            # Implicit parents, as tar makes them; EEXIST means a racing entry made it.
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o755, dir_fd=parent)
            fd = self._open_existing_dir(parent, parts)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            fd = self._open_existing_dir(parent, parts)
        self._cache[parts] = fd
        if len(self._cache) > _CACHE_SIZE:
            os.close(self._cache.popitem(last=False)[1])
        return fd

    def _open_existing_dir(self, parent: int, parts: Parts) -> int:
        try:
            return os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            st = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(parts[-1], dir_fd=parent)
                raise UnsafeLayer(f"path component {show(parts)!r} is a symlink (-> {target}); "
                                  "refusing to write through it") from exc
            raise UnpackError(f"path component {show(parts)!r} is not a directory") from exc

    def lstat(self, parts: Parts) -> os.stat_result | None:
        """lstat of `parts`, or None when it (or a parent) does not exist."""
        if not parts:
            return os.fstat(self.root_fd)
        try:
            parent = self.dir_fd(parts[:-1])
            return os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def remove(self, parts: Parts) -> None:
        """Remove whatever is at `parts` (a whole tree for a directory); missing is fine."""
        st = self.lstat(parts)
        if st is None:
            return
        parent = self.dir_fd(parts[:-1])
        if stat.S_ISDIR(st.st_mode):
            self.forget()
            parent = self.dir_fd(parts[:-1])
            rmtree_at(parent, parts[-1])
        else:
            os.unlink(parts[-1], dir_fd=parent)


def rmtree_at(dir_fd: int, name: str) -> None:
    """shutil.rmtree relative to a directory descriptor (its fd-based walk never follows links)."""
    shutil.rmtree(name, dir_fd=dir_fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
