"""Cluster DNS and Ingress on a real node: what a pod and a client outside really get.

The shared network fixtures (tests/support/netfixtures.py): `supernetes server` on
loopback, a node network namespace of the test's own with the agent's
NodeNetwork (bridge super0, 10.244.7.1/24), pods wired by the agent's
PodNetworker, and `outside`, a host beyond the node's uplink. On top of them the
node's service proxy (agent/proxy, nftables) runs as the Superlet runs it, so
packets to ClusterIPs (10.96.0.10, the kube-dns Service) are really DNATed.
"""

from __future__ import annotations

import pytest
from netfixtures import apiserver, client, node, ns, outside, pods  # noqa: F401
from proxykit import NODE_NAME

from supernetes.agent.proxy import ProxyConfig, ServiceProxy


@pytest.fixture
def proxy(client, node):  # noqa: F811 - the fixtures imported above
    p = ServiceProxy(client, ProxyConfig(node_name=NODE_NAME, netns=node.config.netns,
                                         min_sync_interval=0.05))
    p.start()
    yield p
    p.stop()
    p.cleanup()
