"""Supernetes: a Kubernetes-style container orchestrator built from Linux primitives.

This folder (`cluster/`) is the root of the `supernetes` package. The parts live
in folders of their own, mapped into this namespace by setup.cfg:

    supernetes.runtime       runtime/        superc, the OCI runtime
    supernetes.rootfs        rootfs-tools/   images: pull, unpack, snapshots
    supernetes.agent         agent/          the Superlet, the node agent
    supernetes.controlplane  controlplane/   API server, store, scheduler, controllers, superctl

What lives here composes them: the `supernetes` command (`server`, `up`/`down`,
`lab`). Importing this package imports none of the parts, so `superc` stays fast.
"""

__version__ = "0.1.0"
