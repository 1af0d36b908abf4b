"""Pod networking on one node: a routed veth pair per pod, host-local IPAM.

The picture on a node whose pod CIDR is 10.244.1.0/24:

    node network namespace                          pod network namespace
    ----------------------                          ---------------------
    super0 10.244.1.1/24 (the gateway, no ports)
    10.244.1.7/32 dev vethXXXX src 10.244.1.1  vethXXXX === eth0 10.244.1.7/32
    unreachable 10.244.0.0/16                        default via 10.244.1.1 onlink
    unreachable 10.96.0.0/12                         lo up
    nft table ip supernetes: masquerade pod CIDR -> outside, forward accept

    node.py     the node's half: gateway address, forwarding, routes, rules
    pod.py      one pod's half: the veth pair, its host route, address and default route
    ipam.py     host-local address allocation, persisted on disk, crash-safe
    nft.py      the batched rule writer: whole owned nftables tables, one transaction
    nfttable.py a table as data, and the diff that changes one version into the next
    netns.py    doing work inside a network namespace without fork()

and between nodes (every other node's pod CIDR routed to that node):

    crossnode.py  the Node informer and the sync that keeps one backend's routes right
    hostgw.py     backend host-gw: a route per peer via its address (one L2 segment)
    vxlan.py      backend vxlan: an overlay device, FDB and neighbour entries per peer

Everything here runs in the agent's own network namespace (the node's) unless a
`netns` path is given; tests pass the path of a namespace they created so the
machine's own network is never touched. pyroute2 is imported here and only here,
never on the `superc` path.
"""
