"""Image references normalise the way Docker's do, and bad ones say why."""

import pytest

from supernetes.rootfs import reference
from supernetes.rootfs.errors import InvalidReference

HEX = "a" * 64


@pytest.mark.parametrize("text, expected", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("user/app:v1.2-rc_3", "docker.io/user/app:v1.2-rc_3"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1"),
    ("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app:latest"),
    ("localhost/app:dev", "localhost/app:dev"),
    ("localhost:5000/a/b/c:x", "localhost:5000/a/b/c:x"),
    ("registry.example.com/ns/app", "registry.example.com/ns/app:latest"),
    (f"busybox@sha256:{HEX}", f"docker.io/library/busybox@sha256:{HEX}"),
    (f"busybox:1@sha256:{HEX}", f"docker.io/library/busybox:1@sha256:{HEX}"),
    ("[::1]:5000/app", "[::1]:5000/app:latest"),
    ("my-app__x/sub.y", "docker.io/my-app__x/sub.y:latest"),
])
def test_references_normalise_like_docker(text, expected):
    assert str(reference.parse(text)) == expected


def test_a_port_is_not_mistaken_for_a_tag():
    ref = reference.parse("127.0.0.1:5000/app")
    assert (ref.registry, ref.repository, ref.tag) == ("127.0.0.1:5000", "app", "latest")


def test_pinned_references_ask_the_registry_for_the_digest():
    ref = reference.parse(f"localhost:5000/app:1@sha256:{HEX}")
    assert ref.object == f"sha256:{HEX}"
    assert reference.parse("app:2").object == "2"


def test_docker_hub_api_host_differs_from_its_name():
    assert reference.parse("busybox").api_host == "registry-1.docker.io"
    assert reference.parse("127.0.0.1:5000/x").api_host == "127.0.0.1:5000"


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("Busybox", "lowercase"),
    ("busybox:", "bad tag"),
    ("busybox:-x", "bad tag"),
    ("busy//box", "bad path component"),
    ("app@sha256:123", "invalid digest"),
    ("app@md5:" + HEX, "invalid digest"),
    ("a" * 300, "longer than 255"),
    ("host:5000/", "no repository"),
    ("bad_host!:5000/app", "bad registry host"),
    ("my_host.example/app", "bad registry host"),
])
def test_bad_references_are_refused_with_the_reason(text, reason):
    with pytest.raises(InvalidReference, match=reason):
        reference.parse(text)


@pytest.mark.parametrize("registry, loopback", [
    ("localhost", True), ("localhost:5000", True), ("127.0.0.1:5000", True),
    ("127.1.2.3", True), ("[::1]:5000", True), ("10.0.0.1:5000", False),
    ("registry.example.com", False), ("docker.io", False),
])
def test_loopback_registries_are_recognised(registry, loopback):
    assert reference.is_loopback(registry) is loopback
