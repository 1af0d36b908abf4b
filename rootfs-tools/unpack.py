"""Apply one image layer (a tar stream, maybe gzip or zstd) to a directory, safely.

Two ways to apply a layer, the only difference being whiteouts:

* `"apply"`: the directory already holds the layers below; `.wh.x` deletes `x` and
  `.wh..wh..opq` empties a directory of everything the lower layers put there
  (what `umoci unpack` does; used for flattened rootfs copies).
* `"overlay"`: the directory holds this layer alone (an overlayfs lower dir);
  whiteouts become what overlayfs understands: a 0/0 character device for a
  deleted name, the `trusted.overlay.opaque=y` xattr for an opaque directory.

Whiteouts only ever hide content of *lower* layers: a file this layer itself
created survives a whiteout of its own name in the same layer (OCI image spec).

Safety (the cases of moby's archive tests and of CVE-2014-6407, CVE-2014-9356,
CVE-2021-29136, CVE-2021-32760, CVE-2022-2879; see README): an entry fails the
whole layer with UnsafeLayer when it
  - has an absolute name or a `..` component, or names the root as a symlink/file;
  - would be written through a symlink (every write goes through `safefs.Tree`);
  - is a symlink whose relative target climbs above the layer root;
  - is a hard link to something outside, to a directory, or to an absolute symlink;
  - is a whiteout of `.`, `..` or an empty name;
  - is a device node while we are not root;
  - carries an overlayfs-internal xattr (trusted.overlay.*);
  - has a PAX or GNU long-name header over 1 MiB (a memory bomb, not a name).
We never follow a symlink, never chmod through one, and never read back what we wrote.
"""

import errno
import gzip
import os
import stat
import tarfile

from . import digest as digests
from . import safefs
from .errors import UnpackError, UnsafeLayer, UnsupportedMediaType
from .safefs import Parts

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
_META_PREFIX = ".wh..wh."  # aufs bookkeeping (.wh..wh.plnk, ...): not content
MAX_HEADER = 1 << 20
_CHUNK = 1 << 20
_SKIP_XATTRS = ("security.selinux",)  # host labelling, never the image's business


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses long-name and PAX headers over MAX_HEADER before tarfile reads them into memory."""

    _LONG = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
             tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)

    def _proc_member(self, tarfile_):
        if self.type in self._LONG and self.size > MAX_HEADER:
            raise UnsafeLayer(f"tar header of {self.size} bytes for {self.name!r} exceeds the "
                              f"{MAX_HEADER}-byte limit")
        return super()._proc_member(tarfile_)


def decompressed(stream):
    """Sniff the compression of a layer stream and return a reader of the plain tar."""
    reader = stream if hasattr(stream, "peek") else _Peekable(stream)
    magic = reader.peek(4)[:4]
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=reader, mode="rb")
    if magic == b"\x28\xb5\x2f\xfd":
        try:
            import zstandard
        except ImportError as exc:
            raise UnsupportedMediaType("layer is zstd-compressed; install the 'zstandard' "
                                       "package to unpack it") from exc
        return zstandard.ZstdDecompressor().stream_reader(reader, read_across_frames=True)
    return reader


class _Peekable:
    def __init__(self, stream):
        self._stream, self._head = stream, b""

    def peek(self, n: int) -> bytes:
        if len(self._head) < n:
            self._head += self._stream.read(n - len(self._head))
        return self._head

    def read(self, n: int = -1) -> bytes:
        if self._head:
            head, self._head = (self._head, b"") if n < 0 or n >= len(self._head) else \
                (self._head[:n], self._head[n:])
            return head if n < 0 or len(head) == n else head + self._stream.read(n - len(head))
        return self._stream.read(n)


def clean_name(name: str, what: str = "entry") -> Parts:
    """Lexically clean a tar name into components; refuse absolute names and `..`."""
    if name.startswith("/"):
        raise UnsafeLayer(f"{what} {name!r} has an absolute path")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise UnsafeLayer(f"{what} {name!r} contains '..'")
    return parts


def symlink_escapes(link: Parts, target: str) -> bool:
    """Does a relative `target`, read from the directory of `link`, climb above the root?"""
    if target.startswith("/"):
        return False
    depth = len(link) - 1
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


class Unpacker:
    """Applies layers to one directory; `apply()` returns the layer's DiffID."""

    def __init__(self, target: str, mode: str = "apply", base: bool = False):
        if mode not in ("apply", "overlay"):
            raise ValueError(f"unknown whiteout mode {mode!r}")
        self.target, self.mode, self.base = target, mode, base
        self.as_root = os.geteuid() == 0

    def apply(self, stream, expected_diff_id: str | None = None) -> str:
        tar_stream = digests.HashingReader(decompressed(stream), expected_diff_id or "sha256:")
        self._upper: set[Parts] = set()  # what this layer created, and their ancestors
        self._dirs: list[tuple[Parts, tarfile.TarInfo]] = []
        with safefs.Tree(self.target) as self._tree:
            try:
                # tarfile's default record-sized buffer: its stream reader slices the
                # buffer on every 512-byte header read, so a big buffer costs CPU, not I/O.
                with tarfile.open(fileobj=tar_stream, mode="r|", tarinfo=_BoundedTarInfo) as tar:
                    for member in tar:
                        self._entry(tar, member)
                self._finish_dirs()
                tar_stream.drain()
            except (tarfile.TarError, EOFError, gzip.BadGzipFile, ValueError) as exc:
                raise UnpackError(f"layer is not a valid tar stream: {exc}") from exc
            except OSError as exc:
                if exc.errno is None:  # zlib/gzip errors are OSErrors without an errno
                    raise UnpackError(f"layer stream is corrupt: {exc}") from exc
                raise UnpackError(f"unpacking layer into {self.target}: {exc}") from exc
        diff_id = tar_stream.digest
        if expected_diff_id and diff_id != expected_diff_id:
            raise UnpackError(f"layer content does not match its DiffID: expected "
                              f"{expected_diff_id}, got {diff_id}")
        return diff_id

    # --- one entry ---------------------------------------------------------------------------

    def _entry(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        parts = clean_name(member.name)
        base = parts[-1] if parts else ""
        try:
            if base.startswith(WHITEOUT):
                return self._whiteout(parts, member)
            if not parts and not member.isdir():
                raise UnsafeLayer(f"entry {member.name!r} would replace the layer root with a "
                                  f"{'symlink' if member.issym() else 'non-directory'}")
            for xattr in _xattrs(member):
                if xattr.startswith("trusted.overlay."):
                    raise UnsafeLayer(f"entry {member.name!r} sets the overlayfs-internal "
                                      f"xattr {xattr}")
            if member.isdir():
                self._directory(parts, member)
            elif member.isreg():
                self._regular(parts, member, tar)
            elif member.issym():
                self._symlink(parts, member)
            elif member.islnk():
                self._hardlink(parts, member)
            elif member.ischr() or member.isblk() or member.isfifo():
                self._node(parts, member)
            else:
                raise UnpackError(f"entry {member.name!r} has unsupported tar type {member.type!r}")
        except OSError as exc:
            raise UnpackError(f"entry {member.name!r}: {exc.strerror or exc}") from exc
        self._upper.update(parts[:i] for i in range(1, len(parts) + 1))

    def _replace(self, parts: Parts, keep_dir: bool = False) -> int:
        """Make room for a new entry at `parts`; return the parent's descriptor."""
        st = self._tree.lstat(parts)
        if st is not None and not (keep_dir and stat.S_ISDIR(st.st_mode)):
            self._tree.remove(parts)
        return self._tree.dir_fd(parts[:-1], create=True)

    def _directory(self, parts: Parts, member: tarfile.TarInfo) -> None:
        if parts:
            parent = self._replace(parts, keep_dir=True)
            try:
                os.mkdir(parts[-1], 0o700, dir_fd=parent)
            except FileExistsError:
                pass
        fd = self._tree.dir_fd(parts)
        self._own(fd, member)
        self._set_xattrs(fd, member)
        # Mode and times last, after every child is in (a 0555 dir, a child's mtime bump).
        self._dirs.append((parts, member))

    def _regular(self, parts: Parts, member: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        parent = self._replace(parts)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(parts[-1], flags, 0o600, dir_fd=parent)
        try:
            if member.size:
                source = tar.extractfile(member)
                while chunk := source.read(_CHUNK):
                    safefs.write_all(fd, chunk)
            self._own(fd, member)
            os.chmod(fd, member.mode & 0o7777)  # after chown, which clears setuid bits
            self._set_xattrs(fd, member)
            os.utime(fd, ns=(_ns(member), _ns(member)))
        finally:
            os.close(fd)

    def _symlink(self, parts: Parts, member: tarfile.TarInfo) -> None:
        if symlink_escapes(parts, member.linkname):
            raise UnsafeLayer(f"symlink {member.name!r} -> {member.linkname!r} points above the "
                              "layer root")
        parent = self._replace(parts)
        os.symlink(member.linkname, parts[-1], dir_fd=parent)
        self._own_path(parent, parts[-1], member)
        os.utime(parts[-1], ns=(_ns(member), _ns(member)), dir_fd=parent, follow_symlinks=False)

    def _hardlink(self, parts: Parts, member: tarfile.TarInfo) -> None:
        source = clean_name(member.linkname, what=f"hard link {member.name!r} target")
        if not source:
            raise UnsafeLayer(f"hard link {member.name!r} points at the layer root")
        st = self._tree.lstat(source)
        if st is None:
            raise UnpackError(f"hard link {member.name!r}: target {member.linkname!r} is not in "
                              "the layer")
        if stat.S_ISDIR(st.st_mode):
            raise UnsafeLayer(f"hard link {member.name!r} -> {member.linkname!r} is a directory")
        source_dir = self._tree.dir_fd(source[:-1])
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(source[-1], dir_fd=source_dir)
            if target.startswith("/") or symlink_escapes(source, target):
                raise UnsafeLayer(f"hard link {member.name!r} -> {member.linkname!r} is a link "
                                  f"to a symlink that leaves the layer (-> {target})")
        if source == parts:
            return
        current = self._tree.lstat(parts)
        if current is not None and (current.st_dev, current.st_ino) == (st.st_dev, st.st_ino):
            return
        parent = self._replace(parts)
        source_dir = self._tree.dir_fd(source[:-1])  # _replace may have dropped the cache
        # linkat without AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
        os.link(source[-1], parts[-1], src_dir_fd=source_dir, dst_dir_fd=parent,
                follow_symlinks=False)

    def _node(self, parts: Parts, member: tarfile.TarInfo) -> None:
        if not member.isfifo() and not self.as_root:
            raise UnsafeLayer(f"device node {member.name!r} needs root (CAP_MKNOD) to unpack")
        kind = stat.S_IFIFO if member.isfifo() else stat.S_IFCHR if member.ischr() else stat.S_IFBLK
        parent = self._replace(parts)
        os.mknod(parts[-1], kind | 0o600, os.makedev(member.devmajor, member.devminor),
                 dir_fd=parent)
        self._own_path(parent, parts[-1], member)
        # The node was just created by mknodat (which fails on any existing name), so
        # the final component is ours and chmod may follow it.
        os.chmod(parts[-1], member.mode & 0o7777, dir_fd=parent)
        os.utime(parts[-1], ns=(_ns(member), _ns(member)), dir_fd=parent, follow_symlinks=False)

    # --- whiteouts ---------------------------------------------------------------------------

    def _whiteout(self, parts: Parts, member: tarfile.TarInfo) -> None:
        base, directory = parts[-1], parts[:-1]
        if base == OPAQUE:
            if self.base:
                return  # nothing below the first layer to hide
            if self.mode == "overlay":
                fd = self._tree.dir_fd(directory, create=True)
                os.setxattr(fd, "trusted.overlay.opaque", b"y")
                return
            try:
                self._tree.dir_fd(directory)  # refuses a directory that is a symlink
            except FileNotFoundError:
                return
            self._purge_lower(directory, keep_top=True)
            return
        if base.startswith(_META_PREFIX):
            return
        name = base[len(WHITEOUT):]
        if name in ("", ".", ".."):
            raise UnsafeLayer(f"whiteout {member.name!r} names {name or 'nothing'!r}, not a file")
        victim = directory + (name,)
        if self.base or victim in self._upper:
            return  # whiteouts hide lower layers only, never this layer's own entries
        if self.mode == "overlay":
            parent = self._replace(victim)
            os.mknod(name, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=parent)
        else:
            self._purge_lower(victim, keep_top=False)

    def _purge_lower(self, parts: Parts, keep_top: bool) -> None:
        """Delete what lower layers put at `parts`, keeping anything this layer created."""
        st = self._tree.lstat(parts)
        if st is None:
            return
        if parts not in self._upper and not keep_top:
            self._tree.remove(parts)
            return
        if not stat.S_ISDIR(st.st_mode):
            return
        for child in sorted(os.listdir(self._tree.dir_fd(parts))):
            self._purge_lower(parts + (child,), keep_top=False)

    # --- metadata ----------------------------------------------------------------------------

    def _own(self, fd: int, member: tarfile.TarInfo) -> None:
        try:
            os.chown(fd, member.uid, member.gid)
        except PermissionError:
            if self.as_root:
                raise  # only an unprivileged unpack may keep its own uid

    def _own_path(self, dir_fd: int, name: str, member: tarfile.TarInfo) -> None:
        try:
            os.chown(name, member.uid, member.gid, dir_fd=dir_fd, follow_symlinks=False)
        except PermissionError:
            if self.as_root:
                raise

    def _set_xattrs(self, fd: int, member: tarfile.TarInfo) -> None:
        for name, value in _xattrs(member).items():
            if name in _SKIP_XATTRS:
                continue
            try:
                os.setxattr(fd, name, value.encode("utf-8", "surrogateescape"))
            except OSError as exc:
                # No xattrs on this file system, or an unprivileged unpack of a
                # security.capability: the file is still right, only unlabelled.
                if exc.errno not in (errno.ENOTSUP, errno.EPERM) or self.as_root and \
                        exc.errno == errno.EPERM:
                    raise

    def _finish_dirs(self) -> None:
        for parts, member in reversed(self._dirs):
            try:
                fd = self._tree.dir_fd(parts)
            except (FileNotFoundError, UnpackError):
                continue  # replaced or whited-out later in the same layer
            os.chmod(fd, member.mode & 0o7777)
            os.utime(fd, ns=(_ns(member), _ns(member)))


def _xattrs(member: tarfile.TarInfo) -> dict[str, str]:
    prefix = "SCHILY.xattr."
    return {k[len(prefix):]: v for k, v in member.pax_headers.items() if k.startswith(prefix)}


def _ns(member: tarfile.TarInfo) -> int:
    return int(float(member.mtime) * 1_000_000_000)
