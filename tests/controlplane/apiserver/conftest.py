"""API server fixtures: a real server over HTTPS, once per store backend.

`apiserver` is parametrised over the store backends, so every test that uses it
runs on SQLite and on a real etcd (Debian's etcd-server, started here). Tests
share one server per backend; each works in a namespace of its own (`ns`).
"""

from __future__ import annotations

import uuid

import pytest
from apiserverkit import ApiServer, Client, Etcd, etcd_backend_available


@pytest.fixture(scope="session", params=["sqlite", "etcd"])
def apiserver(request, tmp_path_factory):
    etcd = None
    store_url = None
    if request.param == "etcd":
        if not etcd_backend_available():
            pytest.skip("the etcd store backend or the etcd binary is not available")
        etcd = Etcd(tmp_path_factory.mktemp("etcd") / "data")
        etcd.start()
        store_url = etcd.url
    server = ApiServer(tmp_path_factory.mktemp(f"apiserver-{request.param}") / "data",
                       store_url)
    server.start()
    yield server
    server.stop()
    if etcd is not None:
        etcd.stop()


@pytest.fixture
def api(apiserver) -> Client:
    return apiserver.admin


@pytest.fixture
def ns(api) -> str:
    """A fresh namespace for one test, deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    response = api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": name}})
    assert response.status_code == 201, response.text
    yield name
    api.delete(f"/api/v1/namespaces/{name}")
