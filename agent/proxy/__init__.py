"""The service proxy: each node's rules that make Service addresses work (kube-proxy's job).

A Service's ClusterIP (10.96.14.2:80), its NodePort on every node address, its
external and load-balancer addresses exist on no interface: a packet sent to
one is DNATed, on the node where it enters, to one of the Service's ready
endpoints. The proxy keeps those rules equal to what the API says, in one
nftables table, `ip supernetes-proxy`, computed whole from the desired state on
every change and written in one transaction by the agent's rule writer
(network/nft.py): whole at start, then as the difference from what it wrote
last (network/nfttable.py), so that a change costs the size of the change.

    model.py    Services + EndpointSlices (or Endpoints) -> ServicePorts (pure)
    rules.py    ServicePorts -> the table as data, kube-proxy's nftables layout (pure)
    runner.py   run a sync soon after a change, coalescing bursts, and periodically
    kernel.py   the service route, conntrack cleanup for UDP
    proxier.py  ServiceProxy: informers -> runner -> sync(); explain(); cleanup()
    cli.py      `python -m supernetes.agent.proxy run|explain|cleanup`

    proxy = ServiceProxy(client, ProxyConfig(node_name="node-a", netns=None))
    proxy.start()          # rules in the kernel when it returns, then kept current
    print(proxy.explain()) # the table as last written (proxy.last_change: the last diff)
    proxy.stop()           # rules stay (connections survive an agent restart)

Errors: ProxyError (start-up failed); nft.RuleError (the kernel refused a table)
is retried by the runner and logged.
"""

from .proxier import ProxyConfig, ProxyError, ServiceProxy

__all__ = ["ProxyConfig", "ProxyError", "ServiceProxy"]
