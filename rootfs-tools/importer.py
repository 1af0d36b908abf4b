"""Import: OCI layouts, OCI archives, docker archives and bare layer tarballs -> content store.

    superlet image import ./layout          an OCI layout directory (skopeo oci:, umoci)
    superlet image import image.tar         an OCI archive or a docker archive
                                            (docker save / podman save / skopeo docker-archive:)
    superlet image import rootfs.tar.gz     a bare layer: becomes a one-layer image

The format is detected from what the path holds (`oci-layout` -> OCI; `manifest.json`
-> docker archive; any other tar -> a layer) unless given. Every blob is streamed
into the store and verified against its digest; docker archives carry no digests
for their (uncompressed) layers, so those are checked against the config's
diff_ids instead. Docker archives become OCI manifests in the store.

Names: `--name` wins (one image only); else the archive's own names
(`io.containerd.image.name`, a full `org.opencontainers.image.ref.name`, docker's
RepoTags); else `localhost/<file name>:<tag or latest>`.
"""

import dataclasses
import os
import re
import tarfile

from . import digest as digests
from . import oci
from . import reference as refs
from .errors import DigestMismatch, FormatError, InvalidReference, RootfsError
from .layout import DirSource, TarSource, blob_name, read_index, read_json
from .store import ContentStore
from .unpack import decompressed

FORMATS = ("oci", "oci-archive", "docker-archive", "layer")


@dataclasses.dataclass(frozen=True)
class Imported:
    name: str
    manifest_digest: str
    index_digest: str | None
    manifest: oci.Manifest
    config: oci.ImageConfig


def detect(path: str) -> str:
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "oci-layout")):
            return "oci"
        raise FormatError(f"{path}: a directory but not an OCI layout (no oci-layout file)")
    if not os.path.isfile(path):
        raise FormatError(f"{path}: no such file or directory")
    if not tarfile.is_tarfile(path) and not _compressed_tar(path):
        raise FormatError(f"{path}: neither an OCI layout, an archive nor a layer tarball")
    source = TarSource(path)
    try:
        names = source.names
    finally:
        source.close()
    if "oci-layout" in names:
        return "oci-archive"
    if "manifest.json" in names:
        return "docker-archive"
    return "layer"


def _compressed_tar(path: str) -> bool:
    with open(path, "rb") as f:
        magic = f.read(4)
    return magic[:2] == b"\x1f\x8b" or magic == b"\x28\xb5\x2f\xfd"


def import_path(store: ContentStore, path: str, name: str | None = None, fmt: str | None = None,
                platform: dict | None = None, exec_config: dict | None = None) -> list[Imported]:
    fmt = fmt or detect(path)
    if fmt not in FORMATS:
        raise FormatError(f"unknown import format {fmt!r} (want one of {', '.join(FORMATS)})")
    if name is not None:
        name = str(refs.parse(name))
    default = _default_name(path)
    if fmt == "layer":
        return [import_layer(store, path, name or default, exec_config)]
    source = DirSource(path) if fmt == "oci" else TarSource(path)
    try:
        if fmt == "docker-archive":
            images = _import_docker(store, source, default)
        else:
            images = _import_oci(store, source, platform, default)
    finally:
        source.close()
    if name is not None:
        if len({i.manifest_digest for i in images}) != 1:
            raise FormatError(f"{path} holds {len(images)} images; --name names exactly one")
        images = [dataclasses.replace(images[0], name=name)]
    return images


def _default_name(path: str) -> str:
    base = os.path.basename(os.path.normpath(path))
    base = re.sub(r"(\.tar)?(\.gz|\.tgz|\.zst)?$", "", base).lower()
    base = re.sub(r"[^a-z0-9._-]+", "-", base).strip("._-") or "imported"
    return f"localhost/{base}"


def _ingest(store: ContentStore, source, descriptor: oci.Descriptor) -> None:
    if store.has(descriptor.digest):
        return
    with source.open(blob_name(descriptor.digest)) as f:
        store.ingest(f, descriptor.digest, descriptor.size)


def _import_oci(store, source, platform, default) -> list[Imported]:
    index = read_index(source)
    named = [d for d in index.manifests if _oci_name(d)]
    if named:
        entries = [(d, _oci_name(d)) for d in named]
    else:
        # No names: the layout is one (maybe multi-platform) image.
        entries = [(oci.select_manifest(index, platform) if len(index.manifests) != 1
                    else index.manifests[0], None)]
    images = []
    for descriptor, name in entries:
        index_digest = None
        if descriptor.media_type in oci.INDEX_TYPES:
            _ingest(store, source, descriptor)
            index_digest = descriptor.digest
            descriptor = oci.select_manifest(oci.parse_index(store.read(descriptor.digest)),
                                             platform)
        elif descriptor.media_type not in oci.MANIFEST_TYPES:
            raise FormatError(f"{source.label}: index entry {descriptor.digest} has media type "
                              f"{descriptor.media_type}, not a manifest")
        _ingest(store, source, descriptor)
        manifest = oci.parse_manifest(store.read(descriptor.digest), descriptor.media_type)
        _ingest(store, source, manifest.config)
        config = oci.parse_config(store.read(manifest.config.digest))
        _check_layer_count(manifest, config, source.label)
        for layer in manifest.layers:
            _ingest(store, source, layer)
        full = _full_name(name, default)
        images.append(Imported(full, descriptor.digest, index_digest, manifest, config))
    return images


def _oci_name(descriptor: oci.Descriptor) -> str | None:
    annotations = descriptor.annotations
    return annotations.get(oci.ANNOTATION_IMAGE_NAME) or annotations.get(oci.ANNOTATION_REF_NAME)


def _full_name(name: str | None, default: str) -> str:
    """A full reference from an archive's name: a bare tag is appended to the default name."""
    if not name:
        return f"{default}:latest"
    if "/" not in name and ":" not in name and "@" not in name:
        return str(refs.parse(f"{default}:{name}"))  # ref.name is just a tag ("latest", "1.0")
    try:
        return str(refs.parse(name))
    except InvalidReference:
        return str(refs.parse(f"{default}:{name}"))


def _check_layer_count(manifest: oci.Manifest, config: oci.ImageConfig, label: str) -> None:
    if len(config.diff_ids) != len(manifest.layers):
        raise FormatError(f"{label}: the manifest lists {len(manifest.layers)} layers but the "
                          f"config has {len(config.diff_ids)} diff_ids")


def _import_docker(store, source, default) -> list[Imported]:
    entries = read_json(source, "manifest.json")
    if not isinstance(entries, list) or not entries:
        raise FormatError(f"{source.label}: manifest.json is not a non-empty list")
    images = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("Layers"), list) \
                or not isinstance(entry.get("Config"), str):
            raise FormatError(f"{source.label}: manifest.json entry {i} lacks Config or Layers")
        with source.open(entry["Config"]) as f:
            config_digest = store.ingest(f)
        config = oci.parse_config(store.read(config_digest))
        if len(config.diff_ids) != len(entry["Layers"]):
            raise FormatError(f"{source.label}: entry {i} has {len(entry['Layers'])} layers but "
                              f"its config has {len(config.diff_ids)} diff_ids")
        layers = []
        for layer_path, diff_id in zip(entry["Layers"], config.diff_ids, strict=True):
            with source.open(layer_path) as f:
                magic = f.read(4)
            with source.open(layer_path) as f:
                digest = store.ingest(f)
            compressed = magic[:2] == b"\x1f\x8b" or magic == b"\x28\xb5\x2f\xfd"
            if not compressed and digest != diff_id:
                raise DigestMismatch(f"{source.label}: layer {layer_path} hashes to {digest}, "
                                     f"but the config says {diff_id}")
            media_type = oci.OCI_LAYER_GZIP if magic[:2] == b"\x1f\x8b" else \
                oci.OCI_LAYER_ZSTD if compressed else oci.OCI_LAYER
            layers.append(oci.Descriptor(media_type, digest, store.size(digest)))
        config_desc = oci.Descriptor(oci.OCI_CONFIG, config_digest, store.size(config_digest))
        body = oci.dumps(oci.new_manifest(config_desc, layers))
        manifest_digest = store.put(body)
        manifest = oci.parse_manifest(body)
        for tag in entry.get("RepoTags") or [None]:
            images.append(Imported(_full_name(tag, default), manifest_digest, None, manifest,
                                   config))
    return images


def import_layer(store: ContentStore, path: str, name: str, exec_config: dict | None = None
                 ) -> Imported:
    """A bare layer tarball becomes a one-layer image with a minimal config."""
    try:
        with open(path, "rb") as f:
            digest = store.ingest(f)
            f.seek(0)
            magic = f.read(4)
            f.seek(0)
            hashing = digests.HashingReader(decompressed(f))
            hashing.drain()
    except OSError as exc:
        raise RootfsError(f"{path}: {exc.strerror or exc}") from exc
    media_type = oci.OCI_LAYER_GZIP if magic[:2] == b"\x1f\x8b" else \
        oci.OCI_LAYER_ZSTD if magic == b"\x28\xb5\x2f\xfd" else oci.OCI_LAYER
    config_doc = oci.new_config([hashing.digest], exec_config,
                                created_by=f"superlet image import {os.path.basename(path)}")
    config_body = oci.dumps(config_doc)
    config_digest = store.put(config_body)
    layer = oci.Descriptor(media_type, digest, store.size(digest))
    body = oci.dumps(oci.new_manifest(
        oci.Descriptor(oci.OCI_CONFIG, config_digest, len(config_body)), [layer]))
    manifest_digest = store.put(body)
    return Imported(name if ":" in name.rpartition("/")[2] or "@" in name else f"{name}:latest",
                    manifest_digest, None, oci.parse_manifest(body), oci.parse_config(config_body))
