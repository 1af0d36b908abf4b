"""The API server's configuration: one object, filled by `supernetes server`'s flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = Path("/var/lib/supernetes")


class ServeError(Exception):
    """The server cannot start: a bad flag or an unusable data dir."""
DEFAULT_PORT = 6443
DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
DEFAULT_NODE_PORT_RANGE = "30000-32767"


@dataclass
class ServerConfig:
    data_dir: Path = DEFAULT_DATA_DIR
    store_url: str | None = None          # default: sqlite:///<data_dir>/state.db
    bind: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    # Extra names and addresses clients use to reach us: they go into the serving
    # certificate's SANs, and the first one into the kubeconfigs.
    advertise_addresses: tuple[str, ...] = ()
    # One pool thread per open watch plus the ones serving requests: size it for
    # every node agent and controller watching at once.
    threads: int = 1024
    watch_cache_capacity: int = 4096      # events kept per resource type
    bookmark_interval: float = 60.0       # seconds between watch bookmarks
    # Service addresses: ClusterIPs come from service_cidr (its first address is the
    # `kubernetes` Service's), node ports from node_port_range.
    service_cidr: str = DEFAULT_SERVICE_CIDR
    node_port_range: str = DEFAULT_NODE_PORT_RANGE
    log_level: str = "info"
    access_log: bool = False
    # DefaultTolerationSeconds admission: every new pod tolerates the not-ready and
    # unreachable NoExecute taints for this long (Kubernetes: 300 s; ours is short so
    # the pods of a dead node run elsewhere within a minute).
    default_not_ready_toleration_seconds: int = 25
    default_unreachable_toleration_seconds: int = 25
    # Started in the serving process once it serves (the scheduler, the controllers):
    # factories called with the admin kubeconfig's path, returning objects with
    # start() and stop(). Filled by `supernetes server`; empty in a bare server.
    components: tuple = ()
    # Empty terminating namespaces in the server itself; off when the namespace
    # controller runs alongside and does it (with its status conditions).
    namespace_finalizer: bool = True
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.data_dir = Path(self.data_dir)

    @property
    def store(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'state.db'}"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    @property
    def viewer_kubeconfig(self) -> Path:
        return self.data_dir / "viewer.kubeconfig"

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"
