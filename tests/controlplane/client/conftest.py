"""Client fixtures: a real `supernetes server` (SQLite) and a client made from its kubeconfig.

The server is shared by the session; each test works in a namespace of its own.
`restartable_server` is a server of a test's own, on a fixed port, for the tests
that stop and start it under a running informer.
"""

from __future__ import annotations

import uuid

import pytest
from apiserverkit import ApiServer, free_port

from supernetes.controlplane.client import Client


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = ApiServer(tmp_path_factory.mktemp("client-apiserver") / "data")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    with Client.from_kubeconfig(str(server.kubeconfig)) as c:
        yield c


@pytest.fixture
def ns(client):
    name = f"t-{uuid.uuid4().hex[:10]}"
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    client.delete("v1", "Namespace", name)


@pytest.fixture
def restartable_server(tmp_path):
    srv = ApiServer(tmp_path / "data", extra_args=["--port", str(free_port())])
    srv.start()
    yield srv
    srv.stop()

