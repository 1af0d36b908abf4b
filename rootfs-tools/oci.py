"""OCI and Docker schema-2 image documents: media types, descriptors, manifests, indexes,
image configs, and the choice of one manifest out of an index for a platform.

Registries, OCI layouts and docker archives all hand us the same few JSON documents;
this module turns their bytes into small typed objects once, checks what must be
there, and raises FormatError naming the field when it is not. Docker's schema-2
types are the OCI ones under other names, so both map onto the same classes.
"""

import dataclasses
import json
import os

from . import digest as digests
from .errors import FormatError, UnsupportedMediaType

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v1+prettyjws")

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
CONFIG_TYPES = (OCI_CONFIG, DOCKER_CONFIG)
LAYER_TYPES = (
    OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, DOCKER_LAYER, DOCKER_LAYER_TAR,
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
)
# What we send in Accept: the two index types first, so multi-arch tags resolve.
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"
MAX_DOCUMENT = 4 << 20  # manifests, indexes and configs are small; refuse giant ones


@dataclasses.dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict | None = None
    annotations: dict = dataclasses.field(default_factory=dict)
    urls: tuple = ()

    @classmethod
    def from_json(cls, data, where: str) -> "Descriptor":
        if not isinstance(data, dict):
            raise FormatError(f"{where}: descriptor is not an object")
        media_type, digest, size = data.get("mediaType"), data.get("digest"), data.get("size")
        if not isinstance(media_type, str):
            raise FormatError(f"{where}: descriptor has no mediaType")
        try:
            digests.validate(digest)
        except FormatError as exc:
            raise FormatError(f"{where}: {exc}") from exc
        if not isinstance(size, int) or size < 0:
            raise FormatError(f"{where}: descriptor size {size!r} is not a non-negative integer")
        return cls(media_type, digest, size, data.get("platform"),
                   dict(data.get("annotations") or {}), tuple(data.get("urls") or ()))

    def to_json(self) -> dict:
        out = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.platform:
            out["platform"] = self.platform
        if self.annotations:
            out["annotations"] = self.annotations
        if self.urls:
            out["urls"] = list(self.urls)
        return out


@dataclasses.dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: dict


@dataclasses.dataclass(frozen=True)
class Index:
    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: dict


@dataclasses.dataclass(frozen=True)
class ImageConfig:
    """The parts of an image config the tools use; `raw` keeps the rest."""

    raw: dict

    @property
    def diff_ids(self) -> list[str]:
        return list(self.raw["rootfs"]["diff_ids"])

    @property
    def config(self) -> dict:
        return self.raw.get("config") or {}

    @property
    def platform(self) -> str:
        text = f"{self.raw.get('os', '?')}/{self.raw.get('architecture', '?')}"
        return text + (f"/{self.raw['variant']}" if self.raw.get("variant") else "")


def _load_json(data: bytes, what: str) -> dict:
    if len(data) > MAX_DOCUMENT:
        raise FormatError(f"{what}: {len(data)} bytes is too large for an image document")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"{what}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise FormatError(f"{what}: not a JSON object")
    return doc


def document_type(data: bytes, declared: str | None = None) -> str:
    """The media type of a manifest or index, from the HTTP header or the document itself."""
    doc = _load_json(data, "manifest")
    if doc.get("schemaVersion") == 1 or declared in DOCKER_SCHEMA1:
        raise UnsupportedMediaType("Docker schema 1 manifests are not supported (re-push the "
                                   "image with a current client)")
    media_type = doc.get("mediaType") or (declared or "").split(";")[0].strip()
    if not media_type:
        media_type = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
    if media_type not in INDEX_TYPES + MANIFEST_TYPES:
        raise UnsupportedMediaType(f"unsupported manifest media type {media_type!r}")
    return media_type


def parse_manifest(data: bytes, declared: str | None = None) -> Manifest:
    media_type = document_type(data, declared)
    if media_type not in MANIFEST_TYPES:
        raise FormatError(f"expected an image manifest, got {media_type}")
    doc = _load_json(data, "manifest")
    config = Descriptor.from_json(doc.get("config"), "manifest config")
    if config.media_type not in CONFIG_TYPES:
        raise UnsupportedMediaType(f"unsupported image config media type {config.media_type!r}")
    if not isinstance(doc.get("layers"), list):
        raise FormatError("manifest: 'layers' is missing or not a list")
    layers = tuple(Descriptor.from_json(d, f"manifest layers[{i}]")
                   for i, d in enumerate(doc["layers"]))
    for layer in layers:
        if layer.media_type == DOCKER_FOREIGN_LAYER:
            raise UnsupportedMediaType(
                f"layer {layer.digest} is a foreign (Windows) layer; only Linux images are "
                "supported")
        if layer.media_type not in LAYER_TYPES:
            raise UnsupportedMediaType(f"unsupported layer media type {layer.media_type!r}")
    return Manifest(media_type, config, layers, dict(doc.get("annotations") or {}))


def parse_index(data: bytes, declared: str | None = None) -> Index:
    media_type = document_type(data, declared)
    if media_type not in INDEX_TYPES:
        raise FormatError(f"expected an image index, got {media_type}")
    doc = _load_json(data, "index")
    if not isinstance(doc.get("manifests"), list):
        raise FormatError("index: 'manifests' is missing or not a list")
    manifests = tuple(Descriptor.from_json(d, f"index manifests[{i}]")
                      for i, d in enumerate(doc["manifests"]))
    return Index(media_type, manifests, dict(doc.get("annotations") or {}))


def parse_config(data: bytes) -> ImageConfig:
    doc = _load_json(data, "image config")
    rootfs = doc.get("rootfs")
    if not isinstance(rootfs, dict) or not isinstance(rootfs.get("diff_ids"), list):
        raise FormatError("image config: 'rootfs.diff_ids' is missing")
    for diff_id in rootfs["diff_ids"]:
        try:
            digests.validate(diff_id)
        except FormatError as exc:
            raise FormatError(f"image config rootfs.diff_ids: {exc}") from exc
    if doc.get("config") is not None and not isinstance(doc["config"], dict):
        raise FormatError("image config: 'config' is not an object")
    return ImageConfig(doc)


def dumps(doc: dict) -> bytes:
    """Canonical bytes for documents we write ourselves (stable digests across runs)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


# --- platforms ---------------------------------------------------------------------------

_MACHINE_ARCH = {
    "x86_64": ("amd64", None), "amd64": ("amd64", None), "i686": ("386", None),
    "i386": ("386", None), "aarch64": ("arm64", "v8"), "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"), "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None), "riscv64": ("riscv64", None),
}


def host_platform() -> dict:
    arch, variant = _MACHINE_ARCH.get(os.uname().machine, (os.uname().machine, None))
    platform = {"os": "linux", "architecture": arch}
    if variant:
        platform["variant"] = variant
    return platform


def parse_platform(text: str) -> dict:
    """`linux/arm64/v8` -> {"os": "linux", "architecture": "arm64", "variant": "v8"}."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise FormatError(f"invalid platform {text!r} (want os/arch[/variant])")
    platform = {"os": parts[0], "architecture": parts[1]}
    if len(parts) == 3:
        platform["variant"] = parts[2]
    return platform


def format_platform(platform: dict | None) -> str:
    if not platform:
        return "unknown"
    text = f"{platform.get('os', '?')}/{platform.get('architecture', '?')}"
    return text + (f"/{platform['variant']}" if platform.get("variant") else "")


def _matches(candidate: dict, wanted: dict) -> bool:
    if (candidate.get("os"), candidate.get("architecture")) != (wanted["os"],
                                                                  wanted["architecture"]):
        return False
    # arm64 images often omit the (only) variant v8; a missing variant matches any.
    want, have = wanted.get("variant"), candidate.get("variant")
    return not want or not have or want == have


def select_manifest(index: Index, platform: dict | None = None) -> Descriptor:
    """The manifest of `index` for `platform` (default: this host); FormatError if none."""
    wanted = platform or host_platform()
    candidates = [d for d in index.manifests if d.media_type in MANIFEST_TYPES]
    for descriptor in candidates:
        if descriptor.platform and _matches(descriptor.platform, wanted):
            return descriptor
    if len(candidates) == 1 and not candidates[0].platform:
        return candidates[0]  # a single-image index without platform (as skopeo writes)
    offered = ", ".join(sorted({format_platform(d.platform) for d in candidates})) or "none"
    raise FormatError(f"no image for platform {format_platform(wanted)} in the index "
                      f"(it offers: {offered})")


# --- documents we write (imports of bare layers, builders, exports) ----------------------

def new_config(diff_ids: list[str], exec_config: dict | None = None,
               created_by: str = "supernetes", created: str = "1970-01-01T00:00:00Z",
               platform: dict | None = None) -> dict:
    """An OCI image config for a stack of layers (created is fixed: reproducible digests)."""
    platform = platform or host_platform()
    config = {
        "architecture": platform["architecture"],
        "os": platform["os"],
        "created": created,
        "config": exec_config or {},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created": created, "created_by": created_by} for _ in diff_ids],
    }
    if platform.get("variant"):
        config["variant"] = platform["variant"]
    return config


def new_manifest(config: Descriptor, layers: list[Descriptor], annotations: dict | None = None
                 ) -> dict:
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
    if annotations:
        manifest["annotations"] = annotations
    return manifest


_DOCKER_TO_OCI = {
    DOCKER_MANIFEST: OCI_MANIFEST, DOCKER_CONFIG: OCI_CONFIG,
    DOCKER_LAYER: OCI_LAYER_GZIP, DOCKER_LAYER_TAR: OCI_LAYER,
}


def to_oci_manifest(manifest: Manifest) -> dict:
    """The same image under OCI media types (blobs untouched; only the manifest changes)."""
    def convert(d: Descriptor) -> Descriptor:
        return dataclasses.replace(d, media_type=_DOCKER_TO_OCI.get(d.media_type, d.media_type))
    return new_manifest(convert(manifest.config), [convert(d) for d in manifest.layers],
                        manifest.annotations)
