"""OCI image layouts: read them from a directory or a tar, write them to a directory or a tar.

    <layout>/oci-layout              {"imageLayoutVersion": "1.0.0"}
    <layout>/index.json              an image index; entries carry a name annotation
    <layout>/blobs/sha256/<hex>      content by digest

This is what `skopeo copy ... oci:DIR:TAG`, `umoci` and `docker save` (25+) write.
Reading never extracts anything to disk: members are opened by name and streamed
into the content store, which verifies each digest. Writing (export, the builders)
uses `LayoutWriter`, which names each image the way skopeo does: the tag in
`org.opencontainers.image.ref.name`, the full reference in `io.containerd.image.name`.
"""

import contextlib
import json
import os
import shutil
import tarfile
import tempfile

from . import digest as digests
from . import oci
from .errors import BlobNotFound, FormatError

LAYOUT_VERSION = {"imageLayoutVersion": "1.0.0"}


class DirSource:
    """Files of an unpacked layout or archive directory, opened by relative name."""

    def __init__(self, path: str):
        self.path, self.label = path, path

    def exists(self, name: str) -> bool:
        return os.path.isfile(os.path.join(self.path, name))

    def open(self, name: str):
        try:
            return open(os.path.join(self.path, name), "rb")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise BlobNotFound(f"{self.label}: {name} is missing") from exc

    def close(self) -> None:
        pass


class TarSource:
    """Members of a tar archive (plain or compressed), opened by name without extracting."""

    def __init__(self, path: str):
        self.label = path
        try:
            self._tar = tarfile.open(path, "r:*")
            self._members = {_norm(m.name): m for m in self._tar.getmembers() if m.isfile()
                             or m.issym() or m.islnk()}
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise FormatError(f"{path}: not a readable tar archive ({exc})") from exc

    @property
    def names(self) -> set[str]:
        return set(self._members)

    def exists(self, name: str) -> bool:
        return _norm(name) in self._members

    def open(self, name: str):
        member = self._members.get(_norm(name))
        if member is None:
            raise BlobNotFound(f"{self.label}: {name} is missing from the archive")
        try:
            return self._tar.extractfile(member)
        except (KeyError, tarfile.TarError) as exc:
            raise FormatError(f"{self.label}: cannot read {name}: {exc}") from exc

    def close(self) -> None:
        self._tar.close()


def _norm(name: str) -> str:
    return os.path.normpath(name.lstrip("/")).removeprefix("./")


def blob_name(digest: str) -> str:
    algorithm, hexpart = digests.parse(digest)
    return f"blobs/{algorithm}/{hexpart}"


def read_json(source, name: str) -> dict:
    with source.open(name) as f:
        data = f.read(oci.MAX_DOCUMENT + 1)
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise FormatError(f"{source.label}: {name} is not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) and not isinstance(doc, list):
        raise FormatError(f"{source.label}: {name} is not a JSON document")
    return doc


def read_index(source) -> oci.Index:
    if not source.exists("oci-layout"):
        raise FormatError(f"{source.label}: not an OCI layout (no oci-layout file)")
    layout = read_json(source, "oci-layout")
    if layout.get("imageLayoutVersion") != "1.0.0":
        raise FormatError(f"{source.label}: unsupported imageLayoutVersion "
                          f"{layout.get('imageLayoutVersion')!r}")
    with source.open("index.json") as f:
        return oci.parse_index(f.read(oci.MAX_DOCUMENT + 1), oci.OCI_INDEX)


class LayoutWriter:
    """Writes blobs and index entries into an OCI layout directory (new or existing)."""

    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump(LAYOUT_VERSION, f)
        self._index_path = os.path.join(path, "index.json")
        try:
            with open(self._index_path) as f:
                self._index = json.load(f)
        except FileNotFoundError:
            self._index = {"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": []}
        except ValueError as exc:
            raise FormatError(f"{self._index_path} is not valid JSON") from exc

    def blob_path(self, digest: str) -> str:
        return os.path.join(self.path, blob_name(digest))

    def put_bytes(self, data: bytes) -> str:
        digest = digests.of_bytes(data)
        path = self.blob_path(digest)
        if not os.path.exists(path):
            _atomic_write(path, data)
        return digest

    def put_file(self, source: str, digest: str) -> None:
        """Add a blob that already exists as a (verified) file: hard link when we can."""
        path = self.blob_path(digest)
        if os.path.exists(path):
            return
        try:
            os.link(source, path)
        except OSError:
            tmp = f"{path}.tmp{os.getpid()}"
            shutil.copyfile(source, tmp)
            os.rename(tmp, path)

    def add_image(self, manifest: bytes, tag: str | None, full_name: str | None = None) -> str:
        """Store a manifest and list it in index.json, replacing an entry with the same tag."""
        digest = self.put_bytes(manifest)
        annotations = {}
        if tag:
            annotations[oci.ANNOTATION_REF_NAME] = tag
        if full_name:
            annotations[oci.ANNOTATION_IMAGE_NAME] = full_name
        descriptor = oci.Descriptor(oci.OCI_MANIFEST, digest, len(manifest), None, annotations)
        entries = [m for m in self._index.get("manifests", [])
                   if not tag or (m.get("annotations") or {}).get(oci.ANNOTATION_REF_NAME) != tag]
        entries.append(descriptor.to_json())
        self._index["manifests"] = entries
        _atomic_write(self._index_path, json.dumps(self._index, indent=2).encode())
        return digest


def _atomic_write(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_archive(layout_dir: str, archive: str) -> None:
    """Pack a layout directory into a tar (what `skopeo copy ... oci-archive:` reads)."""
    tmp = f"{archive}.tmp{os.getpid()}"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("oci-layout", "index.json"):
            tar.add(os.path.join(layout_dir, name), arcname=name)
        tar.add(os.path.join(layout_dir, "blobs"), arcname="blobs")
    os.rename(tmp, archive)
