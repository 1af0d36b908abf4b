"""`superlet reset`: remove everything the agent made on this node (kubeadm reset's job).

Run with the agent stopped. In order: every container of the agent is killed
and deleted, its rootfs snapshot released; every pod's veth is removed and its
address freed, its /dev/shm and sandbox namespaces unmounted, its volumes and
directories removed; then the node's bridge, unreachable routes and nftables
table, the agent's cgroup directory and the run dir. With `everything`, the
root dir goes too (credentials, images, logs); otherwise the node keeps its
credential and its images, and a new `superlet run` starts clean.
"""

from __future__ import annotations

import contextlib
import logging
import os

from supernetes.rootfs.errors import RootfsError
from supernetes.rootfs.images import ImageService

from . import cgroups, fsutil
from .config import AgentConfig
from .localstate import LocalState
from .network import crossnode, nft
from .network.ipam import HostLocalIPAM
from .network.node import NodeNetwork, NodeNetworkConfig
from .network.pod import PodNetworker
from .runtimes.base import ContainerRuntimeError
from .sandbox import Sandboxes
from .volumes import VolumeManager

log = logging.getLogger(__name__)


def reset(config: AgentConfig, everything: bool = False) -> list[str]:
    """Remove the agent's state; returns a line per thing removed (for the CLI)."""
    done: list[str] = []
    state = LocalState(config)
    images = ImageService(config.images_dir) if os.path.isdir(config.images_dir) else None
    for info in state.containers():
        if "io.supernetes.pod.uid" not in info.annotations:
            continue  # not ours (someone else's container in a shared runtime root)
        with contextlib.suppress(ContainerRuntimeError):
            state.runtime.delete(info.id, force=True)
            done.append(f"container {info.id}")
        if images is not None:
            with contextlib.suppress(RootfsError, OSError):
                images.release_rootfs(info.id)
    with contextlib.suppress(RootfsError, OSError):
        if images is not None:
            for container_id in images.snapshots.containers():
                images.release_rootfs(container_id)

    node = state.node
    parent = node.get("cgroupParent") or config.cgroup_parent
    cidr = node.get("podCIDR")
    network = None
    if cidr:
        network = NodeNetwork(NodeNetworkConfig(
            pod_cidr=cidr, cluster_cidr=node.get("clusterCIDR", config.cluster_cidr),
            service_cidr=node.get("serviceCIDR", config.service_cidr),
            bridge=node.get("bridge", config.bridge)))
        if os.path.isdir(config.ipam_dir):
            ipam = HostLocalIPAM(config.ipam_dir, cidr)
            networker = PodNetworker(network, ipam)
            for uid in list(ipam.allocations()):
                networker.detach(uid)
                done.append(f"network of pod {uid}")
            networker.close()

    sandboxes = Sandboxes(config.run_dir)
    volumes = VolumeManager(config.pods_dir, lambda *_: None, lambda *_: None)
    uids = set(sandboxes.list())
    with contextlib.suppress(FileNotFoundError):
        uids |= set(os.listdir(config.pods_dir))
    for uid in sorted(uids):
        fsutil.unmount_below(sandboxes.path(uid))
        sandboxes.remove(uid)
        volumes.teardown(uid)
        fsutil.unmount_below(os.path.join(config.pods_dir, uid))
        fsutil.remove_tree(os.path.join(config.pods_dir, uid))
        cgroups.remove_pod(parent, uid)
        done.append(f"pod {uid}")
    fsutil.remove_tree(config.logs_dir)
    if network is not None:
        network.teardown()
        crossnode.remove_all()
        done.append(f"bridge {network.config.bridge}, routes and rules")
    _remove_service_rules(node, config)
    cgroups.remove_all(parent)
    fsutil.unmount_below(config.run_dir)
    fsutil.remove_tree(config.run_dir)
    if everything:
        fsutil.unmount_below(config.root_dir)
        fsutil.remove_tree(config.root_dir)
        done.append(f"{config.root_dir}")
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(config.root_dir, "node.json"))
        fsutil.remove_tree(config.ipam_dir)
    return done


def _remove_service_rules(node: dict, config: AgentConfig) -> None:
    """The service proxy's route and every `supernetes*` nftables table of the node."""
    try:
        from .proxy import ProxyConfig, ServiceProxy
    except ImportError:
        pass
    else:
        ServiceProxy.remove(ProxyConfig(node_name=node.get("nodeName", config.node_name),
                                        service_cidr=node.get("serviceCIDR",
                                                              config.service_cidr)))
    nft.sync({})  # every table the agent's parts own carries the prefix (network/nft.py)
