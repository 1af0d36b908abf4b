"""The image service: the one object `superlet image` and the Superlet call.

It composes the parts: content store (`store.py`), registry client (`pull.py`,
`push.py`), importers (`importer.py`, `layout.py`), layer snapshots
(`snapshots.py`), garbage collection (`gc.py`) and bundles (`bundle.py`).

`pull` and `import` are transactions: blobs are fetched and verified, every layer
is unpacked into its snapshot, and only then is the reference recorded, so an
image that cannot be unpacked safely is refused up front and never listed. Both
hold the store lock shared; `rm`/`prune` take it exclusively.
"""

import concurrent.futures
import contextlib
import dataclasses
import os
import shutil
import tempfile

from . import auth, bundle, gc, importer, layout, oci
from . import digest as digests
from . import reference as refs
from .errors import ImageNotFound, RootfsError, SnapshotError, UnpackError
from .progress import Progress
from .snapshots import Snapshotter
from .store import DEFAULT_ROOT, ContentStore, ImageRecord
from .unpack import Unpacker


@dataclasses.dataclass(frozen=True)
class Image:
    """A stored image resolved down to its documents."""

    record: ImageRecord
    manifest: oci.Manifest
    config: oci.ImageConfig

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def id(self) -> str:
        """The config digest: what Docker calls the image ID."""
        return self.manifest.config.digest

    @property
    def chain_ids(self) -> list[str]:
        return digests.chain_ids(self.config.diff_ids)

    @property
    def size(self) -> int:
        return self.manifest.config.size + sum(layer.size for layer in self.manifest.layers)


class ImageService:
    def __init__(self, root: str = DEFAULT_ROOT, *, driver: str = "auto",
                 insecure_registries: tuple[str, ...] = (),
                 credentials: auth.Credentials | None = None, auth_file: str | None = None,
                 progress: bool | None = None):
        self.store = ContentStore(root)
        self.snapshots = Snapshotter(self.store.root, driver)
        self.insecure = set(insecure_registries)
        self.credentials, self.auth_file, self.progress = credentials, auth_file, progress

    # --- getting images in -------------------------------------------------------------------

    def client(self, ref: refs.Reference) -> "RegistryClient":  # noqa: F821
        # requests (and with it ssl, charset detection...) is loaded only when a
        # registry is talked to: the node agent holds an ImageService all its life.
        from .registry import RegistryClient

        credentials = self.credentials or auth.lookup(ref.registry, self.auth_file)
        return RegistryClient(ref.registry, api_host=ref.api_host, credentials=credentials,
                              insecure=ref.registry in self.insecure)

    def pull(self, name: str, platform: dict | None = None) -> ImageRecord:
        ref = refs.parse(name)
        progress = Progress(f"pulling {ref}", enabled=self.progress)
        client = self.client(ref)
        try:
            with self.store.locked():
                self.store.remove_abandoned_ingests()
                from . import pull as pullmod

                fetched = pullmod.fetch(self.store, client, ref, platform, progress)
                progress.set_phase("unpacking")
                self.unpack(fetched.manifest, fetched.config)
                return self.store.refs.put(str(ref), fetched.manifest_digest,
                                           fetched.index_digest)
        finally:
            client.close()
            progress.finish()

    def import_(self, path: str, name: str | None = None, fmt: str | None = None,
                platform: dict | None = None, exec_config: dict | None = None
                ) -> list[ImageRecord]:
        with self.store.locked():
            images = importer.import_path(self.store, path, name, fmt, platform, exec_config)
            unpacked = set()
            for image in images:
                if image.manifest_digest not in unpacked:
                    self.unpack(image.manifest, image.config)
                    unpacked.add(image.manifest_digest)
            return [self.store.refs.put(i.name, i.manifest_digest, i.index_digest)
                    for i in images]

    def unpack(self, manifest: oci.Manifest, config: oci.ImageConfig) -> None:
        """Make sure every layer of an image has its snapshot; fail on the first unsafe one."""
        diff_ids = config.diff_ids
        chains = digests.chain_ids(diff_ids)

        def one(i: int) -> None:
            layer = manifest.layers[i]
            try:
                with self.store.open(layer.digest) as stream:
                    self.snapshots.unpack(chains[i], chains[i - 1] if i else None,
                                          diff_ids[i], stream)
            except UnpackError as exc:
                raise type(exc)(f"layer {i + 1}/{len(chains)} ({layer.digest[:19]}): "
                                f"{exc}") from exc

        if self.snapshots.driver == "overlay":
            # Overlay snapshots hold one layer each: independent, so unpack them side by side.
            with concurrent.futures.ThreadPoolExecutor(max_workers=2,
                                                       thread_name_prefix="unpack") as pool:
                for future in [pool.submit(one, i) for i in range(len(chains))]:
                    future.result()
        else:
            for i in range(len(chains)):
                one(i)

    # --- looking at images -------------------------------------------------------------------

    def resolve(self, name: str) -> ImageRecord:
        """A stored image by reference (`busybox`), or by a prefix of its ID or digest."""
        records = self.store.refs.all()
        try:
            ref = refs.parse(name)
            if str(ref) in records:
                return records[str(ref)]
            short = _short_name_matches(name, ref, records)
            if len(short) == 1:
                return short[0]
        except RootfsError:
            pass
        prefix = name.removeprefix("sha256:").lower()
        if len(prefix) >= 4 and all(c in "0123456789abcdef" for c in prefix):
            matches = {r.name: r for r in records.values()
                       if r.manifest.removeprefix("sha256:").startswith(prefix)
                       or self._config_digest(r).removeprefix("sha256:").startswith(prefix)}
            if len(matches) == 1:
                return next(iter(matches.values()))
            if len({r.manifest for r in matches.values()}) == 1 and matches:
                return sorted(matches.values(), key=lambda r: r.name)[0]
            if matches:
                raise ImageNotFound(f"{name!r} is ambiguous: {', '.join(sorted(matches))}")
        raise ImageNotFound(f"image {name} is not in the store (pull or import it first)")

    def _config_digest(self, record: ImageRecord) -> str:
        try:
            return oci.parse_manifest(self.store.read(record.manifest)).config.digest
        except RootfsError:
            return ""

    def image(self, name: str) -> Image:
        record = self.resolve(name)
        manifest = oci.parse_manifest(self.store.read(record.manifest))
        config = oci.parse_config(self.store.read(manifest.config.digest))
        return Image(record, manifest, config)

    def images(self) -> list[Image]:
        images = []
        for name in sorted(self.store.refs.all()):
            try:
                images.append(self.image(name))
            except RootfsError:
                continue  # damaged record: `inspect` shows why, `rm` removes it
        return images

    def inspect(self, name: str) -> dict:
        image = self.image(name)
        layers = []
        for layer, diff_id, chain_id in zip(image.manifest.layers, image.config.diff_ids,
                                            image.chain_ids, strict=True):
            layers.append({"digest": layer.digest, "mediaType": layer.media_type,
                           "size": layer.size, "diffID": diff_id, "chainID": chain_id,
                           "unpacked": self.snapshots.has(chain_id)})
        return {
            "name": image.name, "id": image.id, "digest": image.record.digest,
            "manifest": image.record.manifest, "index": image.record.index,
            "mediaType": image.manifest.media_type, "platform": image.config.platform,
            "added": image.record.added, "size": image.size,
            "snapshotter": self.snapshots.driver, "layers": layers,
            "config": image.config.raw,
        }

    # --- getting images out ------------------------------------------------------------------

    def push(self, name: str, dest: str | None = None) -> str:
        record = self.resolve(name)
        source = refs.parse(record.name)
        target = refs.parse(dest) if dest else source
        client = self.client(target)
        try:
            from . import push as pushmod

            return pushmod.push(self.store, client, record, target, source)
        finally:
            client.close()

    def export(self, name: str, dest: str, archive: bool | None = None) -> str:
        """Write the image to an OCI layout dir (or, for `*.tar` or archive=True, a tar)."""
        image = self.image(name)
        archive = dest.endswith(".tar") if archive is None else archive
        ref = refs.parse(image.name)
        body = self.store.read(image.record.manifest)
        if image.manifest.media_type != oci.OCI_MANIFEST:
            body = oci.dumps(oci.to_oci_manifest(image.manifest))  # layouts speak OCI
        with tempfile.TemporaryDirectory(prefix=".export-", dir=os.path.dirname(
                os.path.abspath(dest))) if archive else contextlib.nullcontext(dest) as target:
            writer = layout.LayoutWriter(target)
            for descriptor in (image.manifest.config, *image.manifest.layers):
                writer.put_file(self.store.path(descriptor.digest), descriptor.digest)
            digest = writer.add_image(body, ref.tag or "latest", image.name)
            if archive:
                layout.write_archive(target, dest)
        return digest

    # --- removing images ---------------------------------------------------------------------

    def remove(self, name: str) -> tuple[ImageRecord, gc.Collected]:
        record = self.resolve(name)
        self.store.refs.remove(record.name)
        return record, gc.collect(self.store, self.snapshots)

    def prune(self) -> gc.Collected:
        return gc.collect(self.store, self.snapshots)

    def usage(self) -> gc.Usage:
        return gc.usage(self.store, self.snapshots)

    # --- containers --------------------------------------------------------------------------

    def prepare_rootfs(self, container_id: str, name: str, target: str | None = None) -> str:
        """A writable rootfs for one container (an overlay mount, or a copy); return its path."""
        with self.store.locked():
            image = self.image(name)
            if not all(self.snapshots.has(c) for c in image.chain_ids):
                self.unpack(image.manifest, image.config)  # e.g. first use of another driver
            return self.snapshots.prepare(container_id, image.chain_ids, target, image.name)

    def release_rootfs(self, container_id: str) -> None:
        self.snapshots.release(container_id)

    def mount_image(self, name: str, target: str) -> None:
        """Mount the image's files read-only at `target` (overlay driver; no container)."""
        image = self.image(name)
        self.snapshots.mount_readonly(image.chain_ids, target)

    def unmount_image(self, target: str) -> None:
        self.snapshots.unmount(target)

    def flatten(self, name: str, target: str) -> None:
        """Apply every layer, in order, into `target` (what `umoci unpack` makes; no snapshots)."""
        image = self.image(name)
        os.makedirs(target, mode=0o755, exist_ok=True)
        if os.listdir(target):
            raise SnapshotError(f"{target} is not empty")
        for i, (layer, diff_id) in enumerate(zip(image.manifest.layers, image.config.diff_ids,
                                                 strict=True)):
            with self.store.open(layer.digest) as stream:
                Unpacker(target, "apply", base=i == 0).apply(stream, diff_id)

    def create_bundle(self, name: str, bundle_dir: str, container_id: str | None = None,
                      overrides: bundle.Overrides | None = None, copy: bool = False) -> str:
        """An OCI bundle (config.json + rootfs) that superc and runc run; return config path.

        With `copy` the rootfs is a flattened copy owned by the bundle (remove the
        directory to get rid of it); otherwise it is the container's snapshot
        (overlay mount), released with `release_rootfs(container_id)`.
        """
        image = self.image(name)
        rootfs = os.path.join(os.path.abspath(bundle_dir), "rootfs")
        os.makedirs(bundle_dir, exist_ok=True)
        if copy:
            self.flatten(name, rootfs)
        else:
            self.prepare_rootfs(container_id or os.path.basename(os.path.abspath(bundle_dir)),
                                name, rootfs)
        try:
            spec = bundle.generate(image.config, rootfs, overrides, root_path="rootfs")
            return bundle.write(bundle_dir, spec)
        except BaseException:
            if copy:
                shutil.rmtree(rootfs, ignore_errors=True)
            else:
                self.release_rootfs(container_id or os.path.basename(os.path.abspath(bundle_dir)))
            raise



def _short_name_matches(text: str, ref: refs.Reference, records: dict[str, ImageRecord]
                        ) -> list[ImageRecord]:
    """A short name (`busybox`) matches a stored image of any registry, as Podman resolves it.

    Docker would read `busybox` as docker.io/library/busybox only; here images are
    mostly built or imported locally (localhost/busybox), so a short name also finds
    those, and is refused as ambiguous when two registries have it.
    """
    first, slash, _ = text.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return []  # the name says which registry
    path = ref.repository.removeprefix("library/")
    wanted = {f"{path}:{ref.tag}", f"{path}@{ref.digest}"}
    out = []
    for name, record in records.items():
        parsed = refs.parse(name)
        tail = parsed.repository.removeprefix("library/")
        if {f"{tail}:{parsed.tag}", f"{tail}@{parsed.digest}"} & wanted:
            out.append(record)
    return out
