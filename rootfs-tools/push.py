"""Push: content store -> registry (layers, config, then the manifest under a tag).

Blobs the registry already has (HEAD 200) are skipped; when the image came from
another repository of the same registry, a cross-repository mount is tried first,
so the registry links the blob instead of receiving it again. The manifest goes
last: a registry accepts a manifest only once every blob it names is present.
Only the manifest for this host's platform is pushed (we never fetched the others).
"""

from . import oci
from .reference import Reference
from .registry import RegistryClient, push_scope
from .store import ContentStore, ImageRecord


def push(store: ContentStore, client: RegistryClient, record: ImageRecord,
         dest: Reference, source: Reference | None = None) -> str:
    """Upload `record` to `dest`; return the manifest digest the registry reports."""
    body = store.read(record.manifest)
    manifest = oci.parse_manifest(body)
    mount_from = (source.repository if source is not None and source.registry == dest.registry
                  and source.repository != dest.repository else None)
    scope = push_scope(dest.repository, mount_from)
    for descriptor in (*manifest.layers, manifest.config):
        if client.has_blob(dest.repository, descriptor.digest, scope):
            continue
        path = store.path(descriptor.digest)
        store.size(descriptor.digest)  # BlobNotFound if a layer was never downloaded
        client.upload_blob(dest.repository, descriptor.digest, descriptor.size,
                           lambda path=path: open(path, "rb"),
                           mount_from=mount_from)
    pushed = client.put_manifest(dest.repository, dest.object, body, manifest.media_type)
    return pushed or record.manifest
