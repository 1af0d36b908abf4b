"""Cluster DNS fixtures: a real API server, a ClusterDNS on loopback, a fake upstream.

The API server (`supernetes server`, SQLite) and the DNS server are shared by the
session; the DNS server listens on 127.0.0.1 on an ephemeral port and forwards
other names only to `FakeUpstream`, never to the machine's resolver. Each test
makes its objects in a namespace of its own; Services are selector-less with
hand-made EndpointSlices, so no controller ever rewrites what a test set up.
"""

from __future__ import annotations

import uuid

import pytest
from apiserverkit import ApiServer
from dnskit import FakeUpstream

from supernetes.controlplane.client import Client
from supernetes.controlplane.dns import ClusterDNS, DNSConfig


@pytest.fixture(scope="session")
def apiserver(tmp_path_factory):
    srv = ApiServer(tmp_path_factory.mktemp("dns-apiserver") / "data")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def client(apiserver):
    with Client.from_kubeconfig(str(apiserver.kubeconfig)) as c:
        yield c


@pytest.fixture(scope="session")
def upstream():
    fake = FakeUpstream({
        "example.org.": ["example.org. 300 IN A 192.0.2.80"],
        "short.example.org.": ["short.example.org. 2 IN A 192.0.2.2"],
        "big.example.org.": [f"big.example.org. 300 IN TXT {'x' * 200}{i}"
                             for i in range(5)],
        "target.example.org.": ["target.example.org. 300 IN A 192.0.2.99"],
    })
    fake.truncate_udp.add("big.example.org.")
    fake.silent.add("dead.example.org.")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def dns(client, upstream):
    config = DNSConfig(bind="127.0.0.1", port=0, upstreams=(f"127.0.0.1:{upstream.port}",),
                       resolv_conf=None, publish=False, forward_timeout=0.5)
    server = ClusterDNS(client, config).start()
    yield server
    server.stop()


@pytest.fixture
def ns(client):
    name = f"dns-{uuid.uuid4().hex[:8]}"
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    client.delete("v1", "Namespace", name)
