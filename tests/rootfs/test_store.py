"""The content store: verified, atomic blobs, and the reference index."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from supernetes.rootfs import digest as digests
from supernetes.rootfs.errors import BlobNotFound, DigestMismatch, ImageNotFound
from supernetes.rootfs.store import ContentStore


@pytest.fixture
def store(store_root):
    return ContentStore(store_root)


def test_a_blob_is_stored_under_its_digest_and_reads_back(store):
    data = b"hello layer"
    digest = store.put(data)
    assert digest == digests.of_bytes(data)
    assert store.has(digest)
    assert store.read(digest) == data
    assert store.path(digest).endswith(digest.partition(":")[2])


def test_content_that_does_not_match_its_digest_never_becomes_a_blob(store):
    claimed = digests.of_bytes(b"the real thing")
    with pytest.raises(DigestMismatch, match="digest mismatch"):
        store.put(b"something else", claimed)
    assert not store.has(claimed)
    assert os.listdir(store.ingest_dir) == []  # the temp file went too


def test_content_longer_or_shorter_than_its_descriptor_is_refused(store):
    data = b"0123456789"
    with pytest.raises(DigestMismatch, match="more data"), \
            store.writer(digests.of_bytes(data), 5) as w:
        w.write(data)
    with pytest.raises(DigestMismatch, match="size 10"), \
            store.writer(digests.of_bytes(data), 11) as w:
        w.write(data)
        w.commit()
    assert not store.has(digests.of_bytes(data))


def test_reading_a_missing_blob_names_it(store):
    missing = "sha256:" + "0" * 64
    with pytest.raises(BlobNotFound, match=missing):
        store.read(missing)


def test_a_writer_killed_mid_blob_leaves_no_blob_and_its_leftover_is_collectable(store):
    data = os.urandom(1 << 20)
    digest = digests.of_bytes(data)
    script = textwrap.dedent(f"""
        import sys
        from supernetes.rootfs.store import ContentStore
        w = ContentStore({store.root!r}).writer({digest!r}, {len(data)})
        w.write(sys.stdin.buffer.read({len(data) // 2}))
        w._file.flush()
        print("half", flush=True)
        sys.stdin.read()  # wait to be killed
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
    child.stdin.write(data[: len(data) // 2])
    child.stdin.flush()
    assert child.stdout.readline() == b"half\n"
    leftovers = os.listdir(store.ingest_dir)
    assert len(leftovers) == 1
    assert store.remove_abandoned_ingests() == 0  # the writer is alive: hands off
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdin.close()
    child.stdout.close()

    assert not store.has(digest)
    assert store.remove_abandoned_ingests() == len(data) // 2
    assert os.listdir(store.ingest_dir) == []
    assert store.put(data, digest) == digest  # and the next attempt completes


def test_ingesting_a_present_blob_reads_nothing(store):
    digest = store.put(b"x")

    class Exploding:
        def read(self, n):
            raise AssertionError("read")

    assert store.ingest(Exploding(), digest) == digest


def test_references_are_recorded_replaced_and_removed(store):
    m1, m2 = store.put(b"m1"), store.put(b"m2")
    store.refs.put("docker.io/library/a:1", m1)
    store.refs.put("docker.io/library/a:1", m2, index=m1)
    record = store.refs.get("docker.io/library/a:1")
    assert (record.manifest, record.index, record.digest) == (m2, m1, m1)
    assert list(store.refs.all()) == ["docker.io/library/a:1"]
    store.refs.remove("docker.io/library/a:1")
    with pytest.raises(ImageNotFound):
        store.refs.get("docker.io/library/a:1")
    with pytest.raises(ImageNotFound):
        store.refs.remove("docker.io/library/a:1")


def test_chain_ids_follow_the_oci_definition():
    a, b = digests.of_bytes(b"a"), digests.of_bytes(b"b")
    assert digests.chain_ids([a, b]) == [a, digests.of_bytes(f"{a} {b}".encode())]
