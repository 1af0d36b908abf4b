"""The on-disk content store: blobs by digest, and the index of image references.

    <root>/blobs/sha256/<hex>   every manifest, config and layer, named by its digest
    <root>/ingest/              blobs being written (temp files, each flock'ed by its writer)
    <root>/refs.json            reference -> manifest digest (the "image index")
    <root>/lock                 flock: shared by pulls/imports/containers, exclusive for GC

A blob enters only through `BlobWriter`: bytes go to a temp file in `ingest/`,
are hashed on the way, and the file is renamed into `blobs/` only after its digest
(and size, when known) matched. rename(2) is atomic within one file system, so a
pull killed at any point leaves either no blob or a verified one; `has()` can
therefore trust presence. Leftover temp files are found by GC: a writer holds an
exclusive flock on its file, so a temp file that can be locked is abandoned.
"""

import contextlib
import dataclasses
import datetime
import fcntl
import json
import os
import shutil
import sys
import tempfile

from . import digest as digests
from .errors import BlobNotFound, DigestMismatch, ImageNotFound, RootfsError

DEFAULT_ROOT = "/var/lib/supernetes/images"
_CHUNK = 1 << 20


class ContentStore:
    def __init__(self, root: str = DEFAULT_ROOT):
        self.root = os.path.abspath(root)
        self.blobs = os.path.join(self.root, "blobs")
        self.ingest_dir = os.path.join(self.root, "ingest")
        try:
            for path in (self.root, os.path.join(self.blobs, "sha256"), self.ingest_dir):
                os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise RootfsError(f"cannot create image store at {self.root}: {exc.strerror}") from exc
        self.refs = RefIndex(self.root)

    # --- blobs ---------------------------------------------------------------------------

    def path(self, digest: str) -> str:
        algorithm, hexpart = digests.parse(digest)
        return os.path.join(self.blobs, algorithm, hexpart)

    def has(self, digest: str) -> bool:
        return os.path.exists(self.path(digest))

    def size(self, digest: str) -> int:
        try:
            return os.stat(self.path(digest)).st_size
        except FileNotFoundError as exc:
            raise BlobNotFound(f"blob {digest} is not in the store") from exc

    def open(self, digest: str):
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(f"blob {digest} is not in the store") from exc

    def read(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def writer(self, expected: str | None = None, size: int | None = None) -> "BlobWriter":
        return BlobWriter(self, expected, size)

    def put(self, data: bytes, expected: str | None = None) -> str:
        with self.writer(expected, len(data)) as w:
            w.write(data)
            return w.commit()

    def ingest(self, stream, expected: str | None = None, size: int | None = None) -> str:
        """Copy `stream` into the store, verifying it; return its digest."""
        if expected and self.has(expected):
            return expected
        with self.writer(expected, size) as w:
            while chunk := stream.read(_CHUNK):
                w.write(chunk)
            return w.commit()

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(digest))

    def all_digests(self) -> list[str]:
        found = []
        for algorithm in os.listdir(self.blobs):
            names = os.listdir(os.path.join(self.blobs, algorithm))
            found.extend(f"{algorithm}:{name}" for name in names)
        return found

    def remove_abandoned_ingests(self) -> int:
        """Delete temp files whose writer is gone (their flock can be taken); return bytes freed."""
        freed = 0
        for entry in os.scandir(self.ingest_dir):
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                freed += os.fstat(fd).st_size
                os.unlink(entry.path)
            except BlockingIOError:
                pass  # a live writer holds it
            finally:
                os.close(fd)
        return freed

    # --- store-wide lock -------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, exclusive: bool = False):
        """Hold the store lock: shared while adding content, exclusive while collecting it."""
        fd = os.open(os.path.join(self.root, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)


class BlobWriter:
    """A blob being written: temp file in ingest/, hashed as it goes, renamed on commit."""

    def __init__(self, store: ContentStore, expected: str | None, size: int | None):
        if expected:
            digests.validate(expected)
        self._store, self._expected, self._size = store, expected, size
        prefix = (expected.partition(":")[2][:16] if expected else "new") + "-"
        fd, self._tmp = tempfile.mkstemp(prefix=prefix, dir=store.ingest_dir)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._file = os.fdopen(fd, "wb")
        self._hash = digests.hasher(expected or "sha256:")
        self._algorithm = (expected or "sha256:").partition(":")[0]
        self.written = 0

    def write(self, data: bytes) -> None:
        if self._size is not None and self.written + len(data) > self._size:
            raise DigestMismatch(f"blob {self._expected or ''}: more data than the "
                                 f"{self._size} bytes its descriptor declares")
        self._hash.update(data)
        self._file.write(data)
        self.written += len(data)

    def restart(self) -> None:
        """Throw away what was written (a server that ignored our Range request)."""
        self._file.seek(0)
        self._file.truncate()
        self._hash = digests.hasher(self._expected or "sha256:")
        self.written = 0

    def commit(self) -> str:
        actual = f"{self._algorithm}:{self._hash.hexdigest()}"
        if self._expected and actual != self._expected:
            raise DigestMismatch(f"blob {self._expected}: digest mismatch, got {actual}")
        if self._size is not None and self.written != self._size:
            raise DigestMismatch(f"blob {actual}: size {self.written} but its descriptor "
                                 f"declares {self._size}")
        self._file.flush()
        os.fsync(self._file.fileno())  # the data is on disk before the name says it is valid
        os.chmod(self._tmp, 0o644)
        os.rename(self._tmp, self._store.path(actual))
        self._file.close()
        self._tmp = None
        return actual

    def abort(self) -> None:
        if self._tmp is not None:
            self._file.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.abort()


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One reference in the store: what `ls` lists and `rm` removes."""

    name: str  # normalised reference, e.g. docker.io/library/busybox:latest
    manifest: str  # digest of the image manifest for this host's platform
    index: str | None  # digest of the index it was chosen from, when it came from one
    added: str  # RFC 3339 time it was pulled or imported

    @property
    def digest(self) -> str:
        """The digest a registry knows this image by (the index's, for multi-arch tags)."""
        return self.index or self.manifest


class RefIndex:
    """refs.json: reference -> ImageRecord; edited under an flock, replaced atomically."""

    def __init__(self, root: str):
        self._path = os.path.join(root, "refs.json")
        self._lock = os.path.join(root, "refs.lock")

    def all(self) -> dict[str, ImageRecord]:
        try:
            with open(self._path) as f:
                raw = json.load(f)
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise RootfsError(f"{self._path} is corrupt: {exc}") from exc
        return {name: ImageRecord(name, r["manifest"], r.get("index"), r.get("added", ""))
                for name, r in raw.items()}

    def get(self, name: str) -> ImageRecord:
        record = self.all().get(name)
        if record is None:
            raise ImageNotFound(f"image {name} is not in the store")
        return record

    def put(self, name: str, manifest: str, index: str | None = None) -> ImageRecord:
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = ImageRecord(name, manifest, index, now)
        with self._edit() as records:
            records[name] = record
        return record

    def remove(self, name: str) -> ImageRecord:
        with self._edit() as records:
            if name not in records:
                raise ImageNotFound(f"image {name} is not in the store")
            return records.pop(name)

    @contextlib.contextmanager
    def _edit(self):
        fd = os.open(self._lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            records = self.all()
            yield records
            raw = {name: {"manifest": r.manifest, "index": r.index, "added": r.added}
                   for name, r in sorted(records.items())}
            tmp = f"{self._path}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                json.dump(raw, f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, self._path)
        finally:
            os.close(fd)


def dir_size(path: str) -> int:
    """Disk usage of a tree in bytes (allocated blocks, each hard-linked inode counted once)."""
    seen, total = set(), 0
    stack = [path]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        with entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return total


def rmtree(path: str) -> None:
    """Remove a tree that may contain read-only dirs (layers do); never follows symlinks."""
    def _retry(func, p, _exc):
        parent = os.path.dirname(p)
        with contextlib.suppress(OSError):
            os.chmod(parent, 0o700)
        func(p)

    if not os.path.lexists(path):
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=_retry)
    else:
        shutil.rmtree(path, onerror=_retry)
