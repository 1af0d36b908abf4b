"""Ingress fixtures: a real API server, an IngressController on loopback, real backends.

The controller listens on 127.0.0.1 on an ephemeral port and sends requests to
`httpkit.Backend` servers on loopback addresses, named by hand-made
EndpointSlices of selector-less Services (no controller rewrites them). Each test
works in a namespace of its own; the API server and the controller are shared.
"""

from __future__ import annotations

import itertools
import uuid

import pytest
from apiserverkit import ApiServer
from httpkit import Backend

from supernetes.agent.ingress import IngressConfig, IngressController
from supernetes.controlplane.client import Client

_loopback = itertools.count(2)


@pytest.fixture(scope="session")
def apiserver(tmp_path_factory):
    srv = ApiServer(tmp_path_factory.mktemp("ingress-apiserver") / "data")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def client(apiserver):
    with Client.from_kubeconfig(str(apiserver.kubeconfig)) as c:
        yield c


@pytest.fixture(scope="session")
def controller(client):
    controller = IngressController(client, IngressConfig(
        bind="127.0.0.1", port=0, status_addresses=("192.0.2.10",), response_timeout=2.0,
        resync_period=1.0))
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def ns(client):
    name = f"ing-{uuid.uuid4().hex[:8]}"
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    client.delete("v1", "Namespace", name)


@pytest.fixture
def backends():
    """start(name, port=0) -> a running Backend on a fresh 127.0.x.y address."""
    started = []

    def start(name: str, port: int = 0) -> Backend:
        n = next(_loopback)
        backend = Backend(name, f"127.0.{n // 250}.{n % 250 + 2}", port).start()
        started.append(backend)
        return backend

    yield start
    for backend in started:
        backend.stop()
