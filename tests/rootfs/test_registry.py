"""Pull and push against a real registry (Debian's docker-registry), checked with skopeo/umoci."""

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from supernetes.rootfs import oci, reference
from supernetes.rootfs.auth import Credentials
from supernetes.rootfs.errors import (
    AuthError,
    DigestMismatch,
    FormatError,
    NotInRegistry,
    RegistryError,
)
from supernetes.rootfs.images import ImageService


def _registry_digest(ref: str, *creds: str) -> str:
    result = subprocess.run(["skopeo", "inspect", "--tls-verify=false", *creds,
                             f"docker://{ref}"], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)["Digest"]


def _umoci_tree_from_registry(ref, tmp_path, umoci, tree_of, skopeo_run):
    """What the peer tools make of the same registry image: skopeo pulls, umoci unpacks."""
    layout = str(tmp_path / "peer-layout")
    skopeo_run("copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{layout}:peer")
    return tree_of(umoci(layout, "peer", str(tmp_path / "peer-bundle")))


@pytest.mark.root
def test_pulled_image_has_the_registry_digest_and_the_tree_umoci_unpacks(
        service, busybox_in_registry, tmp_path, umoci, tree_of, image_tree, skopeo_run):
    record = service.pull(busybox_in_registry)
    assert record.name == busybox_in_registry
    assert record.digest == _registry_digest(busybox_in_registry)
    assert service.snapshots.driver == "overlay"
    ours = image_tree(service, busybox_in_registry)
    theirs = _umoci_tree_from_registry(busybox_in_registry, tmp_path, umoci, tree_of,
                                       skopeo_run)
    assert ours == theirs
    assert len(ours) > 200 and ours["bin/sh"][4] == ours["bin/busybox"][4]


def test_the_copy_driver_unpacks_the_same_tree(native_service, busybox_in_registry, tmp_path,
                                               umoci, tree_of, image_tree, skopeo_run):
    native_service.pull(busybox_in_registry)
    theirs = _umoci_tree_from_registry(busybox_in_registry, tmp_path, umoci, tree_of,
                                       skopeo_run)
    assert image_tree(native_service, busybox_in_registry) == theirs


def test_pull_by_digest_verifies_and_records_the_pinned_reference(native_service,
                                                                  busybox_in_registry):
    digest = _registry_digest(busybox_in_registry)
    name = busybox_in_registry.rpartition(":")[0] + "@" + digest
    record = native_service.pull(name)
    assert record.manifest == digest and record.name == name


def test_pulling_again_downloads_nothing(native_service, busybox_in_registry, faulty_proxy):
    proxy = faulty_proxy()
    ref = f"{proxy.host}/library/busybox:1.0"
    native_service.pull(ref)
    first = [p for _, p, _ in proxy.log if "/blobs/" in p]
    native_service.pull(ref)
    second = [p for _, p, _ in proxy.log if "/blobs/" in p]
    assert len(first) == 2 and second == first  # config + layer once, then nothing


def test_an_unknown_tag_is_a_clear_not_found(native_service, registry, busybox_in_registry):
    with pytest.raises(NotInRegistry, match="library/busybox:nope: not found.*MANIFEST_UNKNOWN"):
        native_service.pull(f"{registry.host}/library/busybox:nope")
    assert native_service.store.refs.all() == {}


def test_an_unreachable_registry_is_a_clear_error(native_service):
    with socket.socket() as s:  # a port that is certainly closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RegistryError, match=f"cannot reach registry 127.0.0.1:{port}: "
                                            "Connection refused"):
        native_service.pull(f"127.0.0.1:{port}/x:1")


def test_plain_http_is_only_for_loopback_and_registries_marked_insecure(native_service):
    remote = reference.parse("10.255.255.1/x")
    assert native_service.client(reference.parse("127.0.0.1:5000/x")).allow_http is True
    assert native_service.client(remote).allow_http is False
    insecure = ImageService(native_service.store.root, driver="native",
                            insecure_registries=("10.255.255.1",))
    assert insecure.client(remote).allow_http is True


def test_a_corrupted_blob_is_refused_and_never_stored(native_service, busybox_in_registry,
                                                      faulty_proxy):
    proxy = faulty_proxy(corrupt=True)
    with pytest.raises(DigestMismatch, match="digest mismatch"):
        native_service.pull(f"{proxy.host}/library/busybox:1.0")
    store = native_service.store
    assert store.refs.all() == {}
    # Only the (verified) manifest made it in; the corrupted config never became a blob.
    assert store.all_digests() == [_registry_digest(busybox_in_registry)]
    assert os.listdir(store.ingest_dir) == []


def test_server_errors_are_retried_with_backoff(native_service, busybox_in_registry,
                                                faulty_proxy):
    proxy = faulty_proxy(fail_first=3)
    record = native_service.pull(f"{proxy.host}/library/busybox:1.0")
    assert record.digest == _registry_digest(busybox_in_registry)
    blob_gets = [p for m, p, _ in proxy.log if m == "GET" and "/blobs/" in p]
    assert len(blob_gets) == 2 + 3  # config + layer, plus three 503s retried


def test_a_download_cut_off_half_way_resumes_with_a_range_request(native_service,
                                                                  busybox_in_registry,
                                                                  faulty_proxy):
    proxy = faulty_proxy(drop_first=True)
    native_service.pull(f"{proxy.host}/library/busybox:1.0")
    ranges = [r for m, p, r in proxy.log if m == "GET" and "/blobs/" in p and r]
    assert len(ranges) == 1 and ranges[0].startswith("bytes=") and ranges[0] != "bytes=0-"


def test_a_pull_killed_half_way_leaves_a_store_the_next_pull_completes(
        store_root, registry, layouts, layer, tmp_path, faulty_proxy, skopeo_run, superlet,
        cli_env):
    big = layer().file("blob.bin", os.urandom(6 << 20)).bytes()
    layout = layouts.single(str(tmp_path / "big"), [big])
    skopeo_run("copy", "--dest-tls-verify=false", f"oci:{layout}:latest",
               f"docker://{registry.host}/big/image:1")
    proxy = faulty_proxy(throttle=2 << 20)  # 2 MB/s: the layer takes about 3 s
    ref = f"{proxy.host}/big/image:1"
    command = [superlet, "image", "--root", store_root, "--snapshotter", "native", "pull", ref]
    child = subprocess.Popen(command, env=cli_env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    ingest = os.path.join(store_root, "ingest")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        partial = [os.path.getsize(os.path.join(ingest, f)) for f in os.listdir(ingest)] \
            if os.path.isdir(ingest) else []
        if any(size > (1 << 20) for size in partial):
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert partial and max(partial) < len(big), "the pull was not caught half-way"

    service = ImageService(store_root, driver="native", progress=False)
    assert service.store.refs.all() == {}
    layer_digest = "sha256:" + hashlib.sha256(big).hexdigest()
    assert not service.store.has(layer_digest)
    record = service.pull(f"{registry.host}/big/image:1")
    assert service.store.has(layer_digest)
    assert os.listdir(ingest) == []  # the dead pull's partial blob was cleaned up
    assert record.digest == _registry_digest(f"{registry.host}/big/image:1")


def test_a_multi_arch_index_resolves_to_the_host_platform(native_service, registry, layouts,
                                                          layer, tmp_path, skopeo_run):
    host = oci.host_platform()
    other = {"os": "linux", "architecture": "arm64" if host["architecture"] != "arm64"
             else "amd64"}
    layout = layouts.multiarch(str(tmp_path / "multi"), [
        (host, [layer().file("which", b"host").bytes()]),
        (other, [layer().file("which", b"other").bytes()]),
    ])
    ref = f"{registry.host}/multi/arch:1"
    skopeo_run("copy", "--all", "--dest-tls-verify=false", f"oci:{layout}:latest",
               f"docker://{ref}")
    record = native_service.pull(ref)
    assert record.index == _registry_digest(ref)  # the ref keeps the index's digest
    top = native_service.image(ref).chain_ids[-1]
    with open(os.path.join(native_service.snapshots.path(top), "which"), "rb") as f:
        assert f.read() == b"host"
    native_service.pull(ref, platform=other)
    top = native_service.image(ref).chain_ids[-1]
    with open(os.path.join(native_service.snapshots.path(top), "which"), "rb") as f:
        assert f.read() == b"other"
    with pytest.raises(FormatError, match="no image for platform linux/s390x.*offers: "):
        native_service.pull(ref, platform={"os": "linux", "architecture": "s390x"})


# --- auth -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def busybox_in_basic_registry(basic_registry, busybox_layout):
    ref = f"{basic_registry.host}/private/busybox:1"
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false",
                    f"--dest-creds={basic_registry.user}:{basic_registry.password}",
                    f"oci:{busybox_layout}:latest", f"docker://{ref}"],
                   check=True, capture_output=True)
    return ref


def test_basic_auth_registry_needs_credentials(tmp_path, basic_registry,
                                               busybox_in_basic_registry):
    user, password = basic_registry.user, basic_registry.password
    anonymous = ImageService(str(tmp_path / "a"), driver="native", progress=False)
    with pytest.raises(AuthError, match="requires a login"):
        anonymous.pull(busybox_in_basic_registry)
    wrong = ImageService(str(tmp_path / "b"), driver="native", progress=False,
                         credentials=Credentials(user, "wrong"))
    with pytest.raises(AuthError, match="authentication failed"):
        wrong.pull(busybox_in_basic_registry)
    right = ImageService(str(tmp_path / "c"), driver="native", progress=False,
                         credentials=Credentials(user, password))
    record = right.pull(busybox_in_basic_registry)
    assert record.digest == _registry_digest(busybox_in_basic_registry,
                                             f"--creds={user}:{password}")


def test_credentials_come_from_a_docker_auth_file(tmp_path, busybox_in_basic_registry,
                                                  basic_registry):
    auth_file = tmp_path / "auth.json"
    token = base64.b64encode(f"{basic_registry.user}:{basic_registry.password}".encode())
    token = token.decode()
    auth_file.write_text(json.dumps({"auths": {basic_registry.host: {"auth": token}}}))
    service = ImageService(str(tmp_path / "s"), driver="native", progress=False,
                           auth_file=str(auth_file))
    assert service.pull(busybox_in_basic_registry).name == busybox_in_basic_registry


def test_token_auth_anonymous_pull_of_a_public_repository(tmp_path, token_registry,
                                                          busybox_layout):
    ref = f"{token_registry.host}/public/busybox:1"
    creds = f"{token_registry.user}:{token_registry.password}"
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"--dest-creds={creds}",
                    f"oci:{busybox_layout}:latest", f"docker://{ref}"],
                   check=True, capture_output=True)
    seen = len(token_registry.tokens.requests)
    service = ImageService(str(tmp_path / "s"), driver="native", progress=False)
    record = service.pull(ref)
    assert record.name == ref
    ours = token_registry.tokens.requests[seen:]
    assert ours and all(r["user"] is None for r in ours)  # anonymous token, as a browser of
    assert ours[0]["scopes"] == ["repository:public/busybox:pull"]  # public images would


def test_token_auth_private_repository_needs_credentials_and_allows_push(
        tmp_path, token_registry, busybox_layout):
    ref = f"{token_registry.host}/private/busybox:1"
    creds = f"{token_registry.user}:{token_registry.password}"
    subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"--dest-creds={creds}",
                    f"oci:{busybox_layout}:latest", f"docker://{ref}"],
                   check=True, capture_output=True)
    anonymous = ImageService(str(tmp_path / "a"), driver="native", progress=False)
    with pytest.raises(AuthError, match="authentication failed|access denied"):
        anonymous.pull(ref)
    wrong = ImageService(str(tmp_path / "w"), driver="native", progress=False,
                         credentials=Credentials(token_registry.user, "nope"))
    with pytest.raises(AuthError, match="token server .* refused the credentials"):
        wrong.pull(ref)
    service = ImageService(str(tmp_path / "s"), driver="native", progress=False,
                           credentials=Credentials(token_registry.user,
                                                   token_registry.password))
    record = service.pull(ref)
    pushed = service.push(ref, f"{token_registry.host}/private/copy:2")
    assert pushed == record.manifest
    assert _registry_digest(f"{token_registry.host}/private/copy:2",
                            f"--creds={creds}") == record.manifest
    push_scopes = [s for r in token_registry.tokens.requests for s in r["scopes"]
                   if "private/copy" in s]
    assert any("push" in s for s in push_scopes)


# --- push ---------------------------------------------------------------------------------------

def test_push_uploads_an_imported_image_that_skopeo_and_a_fresh_pull_read_back(
        tmp_path, native_service, registry, busybox_layout, image_tree):
    [record] = native_service.import_(busybox_layout, "localhost/pushme:1")
    dest = f"{registry.host}/team/pushed:v1"
    digest = native_service.push("localhost/pushme:1", dest)
    assert digest == record.manifest == _registry_digest(dest)
    # pushing again finds every blob present and only re-puts the manifest
    assert native_service.push("localhost/pushme:1", dest) == digest
    fresh = ImageService(str(tmp_path / "fresh"), driver="native", progress=False)
    fresh.pull(dest)
    assert image_tree(fresh, dest) == image_tree(native_service, "localhost/pushme:1")


def test_the_cli_pulls_and_reports_errors_in_one_line(store_root, busybox_in_registry,
                                                      registry, superlet, cli_env):
    ok = subprocess.run([superlet, "image", "--root", store_root, "--snapshotter", "native",
                         "pull", busybox_in_registry], capture_output=True, text=True,
                        env=cli_env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"{busybox_in_registry}: pulled\nDigest: sha256:")
    bad = subprocess.run([superlet, "image", "--root", store_root, "pull",
                          f"{registry.host}/library/busybox:missing"], capture_output=True,
                         text=True, env=cli_env)
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("superlet image pull: error: manifest ")

