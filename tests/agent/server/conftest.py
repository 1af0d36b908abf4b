"""Fixtures for the agent's HTTPS API: a real API server, and a node serving real containers.

`apiserver` is one `supernetes server` (SQLite) for the whole session; it signs
the agents' serving certificates and holds their Node objects. `node` is a fresh
`agentkit.Node` per test: its own spawner, containers, log files and agent API
on an ephemeral port, all gone at teardown (the leak check watches).
"""

from __future__ import annotations

import os

import pytest
from agentkit import Node, busybox_template
from apiserverkit import ApiServer


@pytest.fixture(scope="session")
def apiserver(tmp_path_factory):
    server = ApiServer(tmp_path_factory.mktemp("agent-api-apiserver") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def busybox(tmp_path_factory):
    if not os.path.exists("/bin/busybox"):
        pytest.skip("needs /bin/busybox (apt install busybox-static)")
    return busybox_template(tmp_path_factory.mktemp("busybox"))


@pytest.fixture
def node(tmp_path, apiserver, busybox):
    node = Node(tmp_path, apiserver, template=busybox)
    yield node
    node.close()
