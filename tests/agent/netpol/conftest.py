"""Fixtures for network policies: the shared network fixtures and a running enforcer."""

from __future__ import annotations

import pytest
from netfixtures import apiserver, client, node, ns, outside, pods  # noqa: F401
from proxykit import NODE_NAME

from supernetes.agent.netpol import PolicyConfig, PolicyEnforcer


@pytest.fixture
def enforcer(client, node):  # noqa: F811 - the fixtures imported above
    e = PolicyEnforcer(client, PolicyConfig(node_name=NODE_NAME, netns=node.config.netns,
                                            min_sync_interval=0.05))
    e.start()
    yield e
    e.stop()
    e.cleanup()
