"""Image documents, platform choice, auth challenges, credentials, and the progress bar."""

import base64
import io
import json

import pytest

from supernetes.rootfs import auth, oci
from supernetes.rootfs.errors import AuthError, FormatError, UnsupportedMediaType
from supernetes.rootfs.progress import Progress

D = "sha256:" + "ab" * 32


def _manifest(**changes) -> bytes:
    doc = {"schemaVersion": 2, "mediaType": oci.OCI_MANIFEST,
           "config": {"mediaType": oci.OCI_CONFIG, "digest": D, "size": 10},
           "layers": [{"mediaType": oci.OCI_LAYER_GZIP, "digest": D, "size": 20}]}
    doc.update(changes)
    return json.dumps(doc).encode()


def test_docker_and_oci_manifests_parse_to_the_same_shape():
    docker = _manifest(mediaType=oci.DOCKER_MANIFEST,
                       config={"mediaType": oci.DOCKER_CONFIG, "digest": D, "size": 10},
                       layers=[{"mediaType": oci.DOCKER_LAYER, "digest": D, "size": 20}])
    for body in (_manifest(), docker):
        manifest = oci.parse_manifest(body)
        assert manifest.config.size == 10 and manifest.layers[0].size == 20


@pytest.mark.parametrize("body, error, message", [
    (b"not json", FormatError, "not valid JSON"),
    (json.dumps({"schemaVersion": 1, "fsLayers": []}).encode(), UnsupportedMediaType,
     "schema 1 manifests are not supported"),
    (_manifest(layers=None), FormatError, "'layers' is missing"),
    (_manifest(layers=[{"mediaType": "application/x-thing", "digest": D, "size": 1}]),
     UnsupportedMediaType, "unsupported layer media type"),
    (_manifest(layers=[{"mediaType": oci.DOCKER_FOREIGN_LAYER, "digest": D, "size": 1}]),
     UnsupportedMediaType, "foreign \\(Windows\\) layer"),
    (_manifest(config={"mediaType": oci.OCI_CONFIG, "digest": "sha256:xyz", "size": 1}),
     FormatError, "invalid digest"),
    (_manifest(config={"mediaType": oci.OCI_CONFIG, "digest": D, "size": -1}),
     FormatError, "not a non-negative integer"),
    (_manifest(mediaType="application/vnd.example+json"), UnsupportedMediaType,
     "unsupported manifest media type"),
])
def test_bad_manifests_name_what_is_wrong(body, error, message):
    with pytest.raises(error, match=message):
        oci.parse_manifest(body)


def _index(*platforms) -> oci.Index:
    return oci.Index(oci.OCI_INDEX, tuple(
        oci.Descriptor(oci.OCI_MANIFEST, "sha256:" + f"{i:064x}", 1, p)
        for i, p in enumerate(platforms)), {})


def test_the_platform_is_chosen_from_an_index():
    index = _index({"os": "linux", "architecture": "amd64"},
                   {"os": "linux", "architecture": "arm64"},
                   {"os": "linux", "architecture": "arm", "variant": "v7"},
                   {"os": "unknown", "architecture": "unknown"})
    pick = oci.select_manifest
    assert pick(index, oci.parse_platform("linux/arm64/v8")).platform["architecture"] == "arm64"
    assert pick(index, oci.parse_platform("linux/arm/v7")).platform["variant"] == "v7"
    with pytest.raises(FormatError, match="linux/arm/v6.*offers: linux/amd64, linux/arm/v7"):
        pick(index, oci.parse_platform("linux/arm/v6"))


def test_the_host_platform_is_named_the_oci_way():
    platform = oci.host_platform()
    assert platform["os"] == "linux" and platform["architecture"] in (
        "amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64")


@pytest.mark.parametrize("header, scheme, params", [
    ('Bearer realm="https://auth.example/token",service="registry.example",'
     'scope="repository:a/b:pull"', "bearer",
     {"realm": "https://auth.example/token", "service": "registry.example",
      "scope": "repository:a/b:pull"}),
    ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
    ("Bearer realm=http://127.0.0.1:1/t,service=x", "bearer",
     {"realm": "http://127.0.0.1:1/t", "service": "x"}),
])
def test_www_authenticate_challenges_parse(header, scheme, params):
    assert auth.parse_challenge(header) == (scheme, params)


def test_credentials_parse_and_come_from_auth_files(tmp_path):
    assert auth.Credentials.parse("u:p:with:colons") == auth.Credentials("u", "p:with:colons")
    with pytest.raises(AuthError, match="USER:PASSWORD"):
        auth.Credentials.parse("nocolon")
    path = tmp_path / "config.json"
    secret = base64.b64encode(b"alice:wonder").decode()
    path.write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": secret},
                                          "reg.example:5000": {"auth": secret}}}))
    assert auth.lookup("docker.io", str(path)) == auth.Credentials("alice", "wonder")
    assert auth.lookup("reg.example:5000", str(path)).username == "alice"
    assert auth.lookup("other.example", str(path)) is None
    with pytest.raises(AuthError, match="does not exist"):
        auth.lookup("x", str(tmp_path / "missing.json"))


def test_progress_draws_on_a_terminal_and_stays_silent_elsewhere():
    screen = io.StringIO()
    bar = Progress("pulling x", stream=screen, enabled=True)
    bar.expect(2_000_000)
    bar.advance(1_000_000)
    bar.set_phase("unpacking")
    bar.finish()
    assert "pulling x [############------------]" in screen.getvalue()
    assert "1.0/2.0 MB unpacking" in screen.getvalue() and screen.getvalue().endswith("\n")
    quiet = io.StringIO()
    silent = Progress("pulling x", stream=quiet)  # StringIO is not a TTY
    silent.expect(10)
    silent.advance(10)
    silent.finish()
    assert quiet.getvalue() == ""
