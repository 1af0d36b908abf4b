"""Fixtures shared by the agent's tests: a busybox image built offline, once per session."""

import pytest

from supernetes.rootfs.build import build_busybox


@pytest.fixture(scope="session")
def busybox_layout(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("busybox") / "layout"
    build_busybox(str(path))
    return str(path)
