"""Store fixtures: one `store` per backend, so the contract suite runs on both.

etcd is the real thing: Debian's etcd-server, started once per test session on
127.0.0.1 with ephemeral client and peer ports and a data dir under pytest's tmp,
stopped at the end. Tests on etcd share it, so each test gets its own key prefix
and never assumes absolute revision numbers.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid

import pytest
import requests

from supernetes.controlplane.store import open_store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EtcdServer:
    """One etcd member on loopback; stop() and start() keep its data dir."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.client_port = free_port()
        self.peer_port = free_port()
        self.url = f"etcd://127.0.0.1:{self.client_port}"
        self.endpoint = f"http://127.0.0.1:{self.client_port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        client = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        with open(self.data_dir.parent / "etcd.log", "ab") as log:
            self.process = subprocess.Popen(
                ["etcd", "--name", "test", "--data-dir", str(self.data_dir),
                 "--listen-client-urls", client, "--advertise-client-urls", client,
                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", f"test={peer}", "--log-level", "error"],
                stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.process.returncode}")
            try:
                if requests.post(f"{client}/v3/kv/range", json={"key": "AA=="},
                                 timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("etcd did not become ready in 20 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture(scope="session")
def etcd_server(tmp_path_factory):
    if shutil.which("etcd") is None:
        pytest.skip("etcd is not installed (apt-get install etcd-server)")
    data_dir = tmp_path_factory.mktemp("etcd") / "data"
    server = EtcdServer(data_dir)
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
    server = EtcdServer(tmp_path / "etcd")
    server.start()
    yield server
    server.stop()
