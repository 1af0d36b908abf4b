"""Fixtures for the service proxy: the shared network fixtures (netfixtures.py) and the proxy.

The proxy runs in the test process against `supernetes server` on loopback, as
the Superlet runs it.
"""

from __future__ import annotations

import pytest
from netfixtures import apiserver, client, node, ns, outside, pods  # noqa: F401
from proxykit import NODE_NAME

from supernetes.agent.proxy import ProxyConfig, ServiceProxy


@pytest.fixture
def proxy_config(node) -> ProxyConfig:  # noqa: F811 - the fixture imported above
    return ProxyConfig(node_name=NODE_NAME, netns=node.config.netns, min_sync_interval=0.05)


@pytest.fixture
def proxy(client, proxy_config):  # noqa: F811 - the fixture imported above
    p = ServiceProxy(client, proxy_config)
    p.start()
    yield p
    p.stop()
    p.cleanup()
