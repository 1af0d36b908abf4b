"""NetworkPolicy enforcement on one node: the API's policies -> the kernel's rules.

    informers (Pods, Namespaces, NetworkPolicies)
        | any change: runner.request()
    SyncRunner (the proxy's runner.py): soon, coalesced, at least every resync_interval
        | sync()
    model.evaluate(): the rules of every pod on this node some policy isolates
        -> rules.render() -> nft.sync(): `ip supernetes-netpol`, one transaction

With no pod isolated the table is removed altogether: no policy, no rule, no
cost. Like the proxy, the table is rewritten whole, so a restart leaves
nothing stale; stopping leaves the rules in place, `cleanup()` removes them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from supernetes.controlplane.client import InformerFactory

from ..network import nft
from ..proxy.runner import SyncRunner
from . import model, rules

log = logging.getLogger(__name__)


class PolicyError(RuntimeError):
    """The enforcer could not start (its informers never synced)."""


@dataclass(frozen=True)
class PolicyConfig:
    node_name: str
    netns: str | None = None              # the node's network namespace; None: here
    min_sync_interval: float = 0.1
    resync_interval: float = 30.0


class PolicyEnforcer:
    def __init__(self, client, config: PolicyConfig):
        self.config = config
        self.factory = InformerFactory(client)
        self.pods = self.factory.informer("v1", "Pod")
        self.namespaces = self.factory.informer("v1", "Namespace")
        self.policies = self.factory.informer("networking.k8s.io/v1", "NetworkPolicy")
        self.runner = SyncRunner(self.sync, "network-policy",
                                 min_interval=config.min_sync_interval,
                                 max_interval=config.resync_interval)
        for informer in (self.pods, self.namespaces, self.policies):
            informer.add_handler(on_add=lambda obj: self.runner.request(),
                                 on_update=lambda old, new: self.runner.request(),
                                 on_delete=lambda obj: self.runner.request())
        self._lock = threading.Lock()
        self.script = ""

    def start(self, timeout: float = 30.0) -> None:
        self.factory.start()
        if not self.factory.wait_for_sync(timeout):
            self.factory.stop()
            raise PolicyError(f"the policy informers did not sync within {timeout} s")
        try:
            self.sync()
        except Exception as exc:
            self.factory.stop()
            raise PolicyError(f"the first sync failed: {exc}") from exc
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()
        self.factory.stop()

    def cleanup(self) -> None:
        nft.sync({}, netns=self.config.netns, owner=rules.TABLE[1])

    def desired(self) -> list[model.PodRules]:
        pods = [info for pod in self.pods.cache.list() if (info := model.pod_info(pod))]
        namespaces = {(ns.get("metadata") or {}).get("name", ""): model.namespace_labels(ns)
                      for ns in self.namespaces.cache.list()}
        return model.evaluate(self.policies.cache.list(), pods, namespaces,
                              self.config.node_name)

    def sync(self) -> None:
        with self._lock:
            isolated = self.desired()
            desired = {rules.TABLE: rules.render(isolated, self.config.node_name)} \
                if isolated else {}
            self.script = nft.sync(desired, netns=self.config.netns, owner=rules.TABLE[1])

    def explain(self) -> str:
        return self.script
