"""NetworkPolicy (networking.k8s.io/v1) enforced on each node, in nftables.

A pod that no policy selects talks to anyone. Once a policy selects it for
Ingress (Egress), it only receives (sends) what some selecting policy's rules
allow: peers by pod selector, namespace selector or IP block, on numbered,
ranged or named ports. Each node enforces the policies of its own pods, in one
table `ip supernetes-netpol` written whole by the agent's rule writer
(network/nft.py), next to the service proxy's.

    model.py     policies + pods + namespaces -> per isolated pod, what is allowed (pure)
    rules.py     that -> the table's text (pure)
    enforcer.py  PolicyEnforcer: informers -> runner -> sync(); cleanup()

    enforcer = PolicyEnforcer(client, PolicyConfig(node_name="node-a"))
    enforcer.start(); ...; enforcer.stop()

Errors: PolicyError (start-up failed); nft.RuleError is retried by the runner.
"""

from .enforcer import PolicyConfig, PolicyEnforcer, PolicyError

__all__ = ["PolicyConfig", "PolicyEnforcer", "PolicyError"]
