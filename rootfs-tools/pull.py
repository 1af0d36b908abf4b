"""Pull: registry -> content store (manifest, config, layers), every byte verified.

The steps, in order: fetch the manifest by tag or digest (verified against the
pinned digest or the registry's Docker-Content-Digest); if it is an index, keep it
and fetch the manifest for the wanted platform; fetch the config; then download
every layer the store lacks in parallel, each through a BlobWriter that checks
size and digest before the blob becomes visible. A download that breaks off is
resumed with an HTTP Range request where the registry allows it. Unpacking and
recording the reference are the caller's (`images.py`), after this returns.
"""

import concurrent.futures
import dataclasses
import time

import requests

from . import digest as digests
from . import oci
from .errors import FormatError, RegistryError
from .progress import Progress
from .reference import Reference
from .registry import RegistryClient
from .store import ContentStore

# Small enough that a transfer that breaks off keeps most of what arrived (a chunk
# cut in the middle is lost), large enough to cost nothing per chunk.
_CHUNK = 1 << 16


@dataclasses.dataclass(frozen=True)
class Fetched:
    manifest_digest: str
    index_digest: str | None
    manifest: oci.Manifest
    config: oci.ImageConfig


def fetch(store: ContentStore, client: RegistryClient, ref: Reference,
          platform: dict | None = None, progress: Progress | None = None,
          workers: int = 4) -> Fetched:
    progress = progress or Progress(str(ref), enabled=False)
    repo = ref.repository
    body, content_type, announced = client.get_manifest(repo, ref.object)
    top = _verify(body, ref.digest or announced, f"manifest of {ref}")
    index_digest = None
    if oci.document_type(body, content_type) in oci.INDEX_TYPES:
        index = oci.parse_index(body, content_type)
        store.put(body, top)
        index_digest = top
        chosen = oci.select_manifest(index, platform)
        body, content_type, _ = client.get_manifest(repo, chosen.digest)
        manifest_digest = _verify(body, chosen.digest, f"manifest {chosen.digest} of {ref}")
    else:
        manifest_digest = top
    manifest = oci.parse_manifest(body, content_type)
    store.put(body, manifest_digest)

    download(store, client, repo, manifest.config, progress)
    config = oci.parse_config(store.read(manifest.config.digest))
    if len(config.diff_ids) != len(manifest.layers):
        raise FormatError(f"{ref}: the manifest lists {len(manifest.layers)} layers but the "
                          f"config has {len(config.diff_ids)} diff_ids")

    missing = [layer for layer in manifest.layers if not store.has(layer.digest)]
    for layer in missing:
        progress.expect(layer.size)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers,
                                               thread_name_prefix="pull") as pool:
        futures = [pool.submit(download, store, client, repo, layer, progress)
                   for layer in missing]
        for future in futures:
            future.result()  # the first failure aborts the pull; the rest finish or fail alone
    return Fetched(manifest_digest, index_digest, manifest, config)


def _verify(body: bytes, expected: str | None, what: str) -> str:
    if expected:
        digests.verify_bytes(body, expected, what)
        return expected
    return digests.of_bytes(body)


def download(store: ContentStore, client: RegistryClient, repo: str,
             descriptor: oci.Descriptor, progress: Progress) -> None:
    """Fetch one blob into the store, resuming a broken transfer from where it stopped."""
    if store.has(descriptor.digest):
        return
    with store.writer(descriptor.digest, descriptor.size) as writer:
        failures = 0
        while True:
            response = client.blob(repo, descriptor.digest, offset=writer.written)
            try:
                with response:
                    if writer.written and response.status_code == 200:
                        progress.advance(-writer.written)
                        writer.restart()  # the registry ignored Range; start over
                    for chunk in response.iter_content(_CHUNK):
                        writer.write(chunk)
                        progress.advance(len(chunk))
                break
            except requests.exceptions.RequestException as exc:
                failures += 1
                if failures > client.retries:
                    raise RegistryError(f"blob {descriptor.digest}: download failed after "
                                        f"{failures} attempts: {exc}") from exc
                time.sleep(client.backoff * 2 ** failures)
        writer.commit()
