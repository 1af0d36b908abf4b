"""Node IPAM: a pod CIDR for every node (kube-controller-manager's range allocator).

Each node gets the next free /node_cidr_mask_size (a /24 by default) of the
cluster CIDR (10.244.0.0/16) in `spec.podCIDR` and `spec.podCIDRs`; the node
agent gives its pods addresses from it. A CIDR is taken once (the API server
refuses to change a set podCIDR) and freed when its node is deleted. On start the
allocator learns every CIDR already assigned, so a restart never hands one out
twice. When the range is full, the node gets a `CIDRNotAvailable` Event and waits.
"""

from __future__ import annotations

import ipaddress
import logging
import threading

from supernetes.controlplane.client import Invalid, NotFound

from . import podutil
from .base import Controller

log = logging.getLogger(__name__)


class CidrSet:
    """The /mask subnets of one network, handed out round-robin."""

    def __init__(self, network: str, mask: int):
        self.network = ipaddress.ip_network(network)
        self.mask = mask
        self.size = 2 ** (mask - self.network.prefixlen)
        self._step = 2 ** (self.network.max_prefixlen - mask)
        self._used: set[int] = set()
        self._next = 0
        self._lock = threading.Lock()

    def _index(self, cidr: str) -> int | None:
        try:
            subnet = ipaddress.ip_network(cidr)
        except ValueError:
            return None
        if subnet.prefixlen != self.mask or not subnet.subnet_of(self.network):
            return None
        offset = int(subnet.network_address) - int(self.network.network_address)
        return offset // self._step

    def occupy(self, cidr: str) -> bool:
        index = self._index(cidr)
        if index is None:
            return False
        with self._lock:
            self._used.add(index)
        return True

    def release(self, cidr: str) -> None:
        index = self._index(cidr)
        if index is not None:
            with self._lock:
                self._used.discard(index)

    def allocate(self) -> str | None:
        with self._lock:
            for step in range(self.size):
                index = (self._next + step) % self.size
                if index not in self._used:
                    self._used.add(index)
                    self._next = (index + 1) % self.size
                    address = ipaddress.ip_address(int(self.network.network_address)
                                                   + index * self._step)
                    return f"{address}/{self.mask}"
        return None

    def used(self) -> int:
        with self._lock:
            return len(self._used)


class NodeIpamController(Controller):
    name = "nodeipam"
    component = "cidrAllocator"

    def setup(self) -> None:
        self.cidrs = CidrSet(self.config.cluster_cidr, self.config.node_cidr_mask_size)
        self.nodes = self.informer("v1", "Node")
        self.nodes.add_handler(self._changed, lambda old, new: self._changed(new),
                               self._deleted)
        self.node_resource = self.resource("v1", "Node")
        self._primed = threading.Event()

    def _changed(self, node: dict) -> None:
        if self.config.allocate_node_cidrs:
            self.enqueue(node)

    def _deleted(self, node: dict) -> None:
        for cidr in self._cidrs_of(node):
            self.cidrs.release(cidr)

    @staticmethod
    def _cidrs_of(node: dict) -> list[str]:
        spec = node.get("spec") or {}
        return list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))

    def _prime(self) -> None:
        """Learn every CIDR already assigned (once, after the node cache is filled)."""
        if self._primed.is_set():
            return
        for node in self.nodes.cache.list():
            for cidr in self._cidrs_of(node):
                self.cidrs.occupy(cidr)
        self._primed.set()

    def sync(self, key: str) -> None:
        self._prime()
        node = self.nodes.cache.get(key)
        if node is None:
            return
        assigned = self._cidrs_of(node)
        if assigned:
            for cidr in assigned:
                self.cidrs.occupy(cidr)
            return
        cidr = self.cidrs.allocate()
        if cidr is None:
            self.event(node, "Normal", "CIDRNotAvailable",
                       f"Node {key} status is now: CIDRNotAvailable")
            return
        patch = {"metadata": {"resourceVersion": podutil.meta(node).get("resourceVersion")},
                 "spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}
        try:
            self.node_resource.patch(key, patch, patch_type="merge")
        except NotFound:
            self.cidrs.release(cidr)
            return
        except Invalid:
            self.cidrs.release(cidr)    # someone else assigned one meanwhile
            raise
        except Exception:
            self.cidrs.release(cidr)
            raise
        log.info("nodeipam: node %s gets pod CIDR %s", key, cidr)
