"""Store fixtures: one `store` per backend, so the contract suite runs on both.

etcd is the real thing: Debian's etcd-server, started once per test session on
127.0.0.1 with ephemeral client and peer ports and a data dir under pytest's tmp,
stopped at the end. Tests on etcd share it, so each test gets its own key prefix
and never assumes absolute revision numbers.
"""

from __future__ import annotations

import shutil
import uuid

import pytest
from apiserverkit import Etcd

from supernetes.controlplane.store import open_store


@pytest.fixture(scope="session")
def etcd_server(tmp_path_factory):
    if shutil.which("etcd") is None:
        pytest.skip("etcd is not installed (apt-get install etcd-server)")
    data_dir = tmp_path_factory.mktemp("etcd") / "data"
    server = Etcd(data_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "etcd"])
def store_url(request, tmp_path):
    """A URL of an empty keyspace on each backend (compaction only on demand)."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/state.db?compact_interval=0"
    server = request.getfixturevalue("etcd_server")
    return f"{server.url}?compact_interval=0"


@pytest.fixture
def store(store_url):
    store = open_store(store_url)
    yield store
    store.close()


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses (the etcd server is shared)."""
    return f"/t-{uuid.uuid4().hex[:12]}/"


@pytest.fixture
def own_etcd(tmp_path):
    """An etcd of this test's own, for tests that stop and restart it."""
    if shutil.which("etcd") is None:
        pytest.skip("etcd is not installed (apt-get install etcd-server)")
    server = Etcd(tmp_path / "etcd")
    server.start()
    yield server
    server.stop()
