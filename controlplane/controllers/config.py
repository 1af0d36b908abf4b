"""The controller manager's configuration: one object, filled from flags or by a test.

Names and meanings follow kube-controller-manager's flags; where our default differs,
the comment says why. The node-lifecycle numbers are chosen so that the pods of a
dead node run elsewhere within 60 s (stock Kubernetes needs about 5.7 minutes):

    heartbeat stops --(node_monitor_grace_period 20 s)--> Ready=Unknown + unreachable taint
                    --(tolerationSeconds 25 s, defaulted by the API server)--> pods deleted
                    --> ReplicaSets create replacements, the scheduler binds them

`controllers` selects what runs, as `--controllers` does: `*` is every controller
that is on by default, `name` adds one, `-name` removes one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .errors import ConfigError

# Every controller this manager knows, in start order. The HorizontalPodAutoscaler
# controller ("horizontalpodautoscaling") joins this list with the metrics pipeline.
KNOWN_CONTROLLERS = (
    "serviceaccount", "namespace", "garbagecollector", "replicaset", "deployment",
    "job", "ttl-after-finished", "daemonset", "endpoints", "endpointslice",
    "nodeipam", "nodelifecycle", "taint-eviction", "podgc",
)


@dataclass
class ControllerManagerConfig:
    kubeconfig: str | None = None
    controllers: tuple[str, ...] = ("*",)
    leader_elect: bool = False
    lease_name: str = "supernetes-controller-manager"
    lease_namespace: str = "kube-system"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    # Informers hand every cached object to the handlers this often, so a lost event
    # costs at most one period (Kubernetes' min-resync-period is 12 h; ours is short
    # because the loops here are cheap and tests must not depend on luck).
    resync_period: float = 300.0
    # Workers per controller (kube-controller-manager's --concurrent-*-syncs).
    workers: dict[str, int] = field(default_factory=lambda: {
        "replicaset": 5, "deployment": 5, "job": 5, "daemonset": 2, "endpoints": 5,
        "endpointslice": 5, "garbagecollector": 10, "namespace": 5, "serviceaccount": 1,
        "taint-eviction": 4})
    # ReplicaSet and Job: creations or deletions in flight per sync at most.
    burst_replicas: int = 500
    # Node lifecycle.
    node_monitor_period: float = 1.0       # how often node health is checked (k8s: 5 s)
    node_monitor_grace_period: float = 20.0    # silence before Ready=Unknown (k8s: 40 s)
    node_startup_grace_period: float = 60.0    # a new node's first heartbeat may take this
    node_eviction_rate: float = 0.1        # nodes tainted per second in a healthy zone
    secondary_node_eviction_rate: float = 0.01  # ... in a partially disrupted large zone
    unhealthy_zone_threshold: float = 0.55
    large_cluster_size_threshold: int = 50
    # Node IPAM: a /node_cidr_mask_size of cluster_cidr per node.
    allocate_node_cidrs: bool = True
    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask_size: int = 24
    # Pod GC.
    terminated_pod_gc_threshold: int = 12500
    orphaned_pod_quarantine: float = 10.0  # a pod on an unknown node waits this before GC
    # Job: the delay before a failed pod is replaced doubles from base to max.
    job_backoff_base: float = 10.0
    job_backoff_max: float = 360.0
    # DaemonSet: a failed daemon pod is replaced after a back-off from base to max.
    daemon_backoff_base: float = 1.0
    daemon_backoff_max: float = 300.0
    # Namespace: how often discovery is refreshed while namespaces terminate.
    discovery_refresh: float = 30.0

    def enabled(self) -> list[str]:
        """The controllers to run, in start order; ConfigError for an unknown name."""
        chosen: set[str] = set()
        for raw in self.controllers:
            for item in str(raw).split(","):
                name = item.strip()
                if not name:
                    continue
                if name == "*":
                    chosen.update(KNOWN_CONTROLLERS)
                    continue
                bare = name.removeprefix("-")
                if bare not in KNOWN_CONTROLLERS:
                    raise ConfigError(f"--controllers: unknown controller {bare!r}; known: "
                                      f"{', '.join(KNOWN_CONTROLLERS)}")
                if name.startswith("-"):
                    chosen.discard(bare)
                else:
                    chosen.add(bare)
        # "-name" after "*" removes it, whatever the order it was written in.
        for raw in self.controllers:
            for item in str(raw).split(","):
                if item.strip().startswith("-"):
                    chosen.discard(item.strip()[1:])
        return [name for name in KNOWN_CONTROLLERS if name in chosen]

    def workers_for(self, name: str) -> int:
        return max(1, int(self.workers.get(name, 1)))

    def validate(self) -> None:
        self.enabled()
        for name in ("node_monitor_period", "node_monitor_grace_period", "resync_period",
                     "job_backoff_base", "daemon_backoff_base"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name.replace('_', '-')} must not be negative")
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise ConfigError("leader election needs lease-duration > renew-deadline > "
                              "retry-period > 0")
        try:
            network = ipaddress.ip_network(self.cluster_cidr)
        except ValueError as exc:
            raise ConfigError(f"--cluster-cidr: {exc}") from exc
        if not network.prefixlen <= self.node_cidr_mask_size <= network.max_prefixlen:
            raise ConfigError(f"--node-cidr-mask-size {self.node_cidr_mask_size} must lie "
                              f"between the cluster CIDR's /{network.prefixlen} and "
                              f"/{network.max_prefixlen}")
