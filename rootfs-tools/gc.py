"""Garbage collection and disk usage of an image store.

Mark and sweep. The roots are the references in refs.json and the containers that
have a rootfs; from a reference we mark its index, manifest, config and layer blobs
and the chain IDs of its layers; from a container, the chain IDs it is stacked on.
Everything unmarked goes: blobs, layer snapshots of every driver, partial downloads
whose writer died, and unpack directories whose unpacker died.

Collection takes the store lock exclusively, so it never races a pull or import
(they hold it shared from their first blob until their reference is recorded).
"""

import dataclasses
import os

from . import digest as digests
from . import oci
from .errors import BlobNotFound, FormatError
from .snapshots import Snapshotter
from .store import ContentStore, dir_size


@dataclasses.dataclass
class Marked:
    blobs: set[str]
    chains: set[str]
    per_image: dict[str, tuple[set[str], list[str]]]  # name -> (blobs, chain ids)


def mark(store: ContentStore, snapshots: Snapshotter) -> Marked:
    blobs, chains, per_image = set(), set(), {}
    for name, record in store.refs.all().items():
        image_blobs = {record.manifest} | ({record.index} if record.index else set())
        image_chains: list[str] = []
        try:
            manifest = oci.parse_manifest(store.read(record.manifest))
            image_blobs |= {manifest.config.digest} | {layer.digest for layer in manifest.layers}
            config = oci.parse_config(store.read(manifest.config.digest))
            image_chains = digests.chain_ids(config.diff_ids)
        except (BlobNotFound, FormatError):
            pass  # a damaged record keeps what it still has; `rm` it to free the rest
        per_image[name] = (image_blobs, image_chains)
        blobs |= image_blobs
        chains |= set(image_chains)
    for container in snapshots.containers().values():
        chains |= set(container.get("chain_ids", []))
    return Marked(blobs, chains, per_image)


@dataclasses.dataclass
class Collected:
    blobs: int = 0
    snapshots: int = 0
    bytes: int = 0


def collect(store: ContentStore, snapshots: Snapshotter) -> Collected:
    result = Collected()
    with store.locked(exclusive=True):
        marked = mark(store, snapshots)
        for digest in store.all_digests():
            if digest not in marked.blobs:
                result.bytes += os.stat(store.path(digest)).st_size
                store.delete(digest)
                result.blobs += 1
        for driver, chain_id in snapshots.list_all():
            if chain_id not in marked.chains:
                result.bytes += snapshots.size(chain_id, driver)
                snapshots.remove(chain_id, driver)
                result.snapshots += 1
        result.bytes += store.remove_abandoned_ingests()
        result.bytes += snapshots.remove_abandoned()
    return result


@dataclasses.dataclass
class ImageUsage:
    name: str
    blobs: int  # bytes of its blobs (compressed layers, config, manifest)
    unpacked: int  # bytes of its layer snapshots
    unique: int  # bytes only this image uses (what `rm` would free)


@dataclasses.dataclass
class Usage:
    images: list[ImageUsage]
    blobs: int
    snapshots: int
    containers: int
    container_count: int
    partial: int  # abandoned and in-flight downloads
    reclaimable: int  # what `prune` would free now


def usage(store: ContentStore, snapshots: Snapshotter) -> Usage:
    marked = mark(store, snapshots)
    blob_size = {d: os.stat(store.path(d)).st_size for d in store.all_digests()}
    snap_size = {(drv, c): snapshots.size(c, drv) for drv, c in snapshots.list_all()}
    chain_size: dict[str, int] = {}
    for (_, chain_id), size in snap_size.items():
        chain_size[chain_id] = chain_size.get(chain_id, 0) + size
    users_of_blob: dict[str, int] = {}
    users_of_chain: dict[str, int] = {}
    for image_blobs, image_chains in marked.per_image.values():
        for d in image_blobs:
            users_of_blob[d] = users_of_blob.get(d, 0) + 1
        for c in set(image_chains):
            users_of_chain[c] = users_of_chain.get(c, 0) + 1
    container_chains = {c for k in snapshots.containers().values() for c in k.get("chain_ids", [])}
    images = []
    for name, (image_blobs, image_chains) in sorted(marked.per_image.items()):
        blobs = sum(blob_size.get(d, 0) for d in image_blobs)
        unpacked = sum(chain_size.get(c, 0) for c in set(image_chains))
        unique = sum(blob_size.get(d, 0) for d in image_blobs if users_of_blob[d] == 1)
        unique += sum(chain_size.get(c, 0) for c in set(image_chains)
                      if users_of_chain[c] == 1 and c not in container_chains)
        images.append(ImageUsage(name, blobs, unpacked, unique))
    containers = snapshots.containers()
    reclaimable = sum(s for d, s in blob_size.items() if d not in marked.blobs)
    reclaimable += sum(s for (_, c), s in snap_size.items() if c not in marked.chains)
    return Usage(
        images=images,
        blobs=sum(blob_size.values()),
        snapshots=sum(snap_size.values()),
        containers=sum(snapshots.container_size(cid) for cid in containers),
        container_count=len(containers),
        partial=dir_size(store.ingest_dir),
        reclaimable=reclaimable,
    )
