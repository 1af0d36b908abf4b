"""SuperController: the reconcile loops (replicas, deployments, nodes, GC, ...)."""
