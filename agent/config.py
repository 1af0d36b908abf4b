"""The agent's configuration: one object, filled by `superlet run`'s flags (or a test).

Everything the Superlet needs to know that it cannot read from the machine or the
API server lives here, with the kubelet's defaults. Paths derive from two roots,
so several agents (a lab, the tests) can share one machine:

    root_dir  /var/lib/supernetes/superlet    persistent: credentials, images, pod
                                              directories (volumes, bundles), logs, IPAM
    run_dir   /run/supernetes/superlet        volatile (a tmpfs): sandboxes, runtime
                                              state, the spawner's socket

Durations are seconds. Tests shorten the back-offs, periods and grace times here;
nothing else in the agent hard-codes a duration.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from .backoff import BackoffPolicy

DEFAULT_ROOT_DIR = "/var/lib/supernetes/superlet"
DEFAULT_RUN_DIR = "/run/supernetes/superlet"


@dataclass
class AgentConfig:
    server_url: str = ""                   # https://host:6443
    token: str = ""                        # bootstrap token (only needed to join)
    node_name: str = field(default_factory=lambda: socket.gethostname().lower())
    root_dir: str = DEFAULT_ROOT_DIR
    run_dir: str = DEFAULT_RUN_DIR
    runtime: str = "superc"                # superc | runc | path of an OCI runtime binary
    ca_file: str | None = None             # the cluster CA, when known out of band
    node_ip: str | None = None             # default: the address that routes to the server
    pod_cidr: str | None = None            # used until the control plane allocates one
    cluster_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    cluster_dns: tuple[str, ...] = ()      # empty: the kube-dns Service's ClusterIP
    cluster_domain: str = "cluster.local"
    bridge: str = "super0"
    masquerade: bool = True
    network_backend: str = "host-gw"       # cross-node routing: host-gw | vxlan | none
    max_pods: int = 110
    pod_pids_limit: int = -1               # per container; -1 = unlimited, as the kubelet
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[dict, ...] = ()          # set on the Node when it is first registered

    # the Ingress proxy (agent/ingress); 0 = none on this node
    ingress_bind: str = "0.0.0.0"
    ingress_port: int = 0

    # the HTTPS API (agent/server.py); port 0 = any free port
    server_bind: str = "0.0.0.0"
    server_port: int = 10250

    # loops
    workers: int = 8                       # pod worker threads
    relist_period: float = 1.0             # PLEG: how often the runtime is looked at
    sync_frequency: float = 60.0           # every pod is re-synced at least this often
    node_status_period: float = 10.0
    lease_duration: int = 40
    image_gc_period: float = 300.0
    image_gc_high: float = 0.85            # disk fraction that triggers image GC
    image_gc_low: float = 0.80             # ... and where it stops
    crash_backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    image_backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    log_max_size: int = 10 * 2**20
    log_max_files: int = 5
    orphan_grace: float = 2.0              # grace for containers of pods the API forgot
    insecure_registries: tuple[str, ...] = ()

    @property
    def credentials_dir(self) -> str:
        return os.path.join(self.root_dir, "credentials")

    @property
    def kubeconfig_path(self) -> str:
        return os.path.join(self.credentials_dir, "kubeconfig")

    @property
    def images_dir(self) -> str:
        return os.path.join(self.root_dir, "images")

    @property
    def pods_dir(self) -> str:
        return os.path.join(self.root_dir, "pods")

    @property
    def logs_dir(self) -> str:
        return os.path.join(self.root_dir, "logs")

    @property
    def ipam_dir(self) -> str:
        return os.path.join(self.root_dir, "ipam")

    @property
    def runtime_root(self) -> str:
        return os.path.join(self.run_dir, "runtime")

    @property
    def spawner_socket(self) -> str:
        return os.path.join(self.run_dir, "spawner.sock")

    @property
    def cgroup_parent(self) -> str:
        """The pods' cgroups go below `<own cgroup>/superlet-<node name>` (cgroups.py)."""
        return f"superlet-{self.node_name}"

    @property
    def runtime_name(self) -> str:
        return os.path.basename(self.runtime)


TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def parse_taint(text: str) -> dict:
    """`KEY[=VALUE]:EFFECT`, as the kubelet's --register-with-taints, into a Node taint."""
    head, sep, effect = text.rpartition(":")
    if not sep or not head:
        raise ValueError(f"{text!r}: expected KEY[=VALUE]:EFFECT")
    if effect not in TAINT_EFFECTS:
        raise ValueError(f"{text!r}: the effect must be one of {', '.join(TAINT_EFFECTS)}")
    key, has_value, value = head.partition("=")
    if not key:
        raise ValueError(f"{text!r}: the taint has no key")
    taint = {"key": key, "effect": effect}
    if has_value:
        taint["value"] = value
    return taint
