"""The lab's configuration and its address plan.

One `LabConfig` says everything `lab up` needs; it is stored in lab.json, so
every later command (`status`, `node kill`, `down`) works from the data dir
alone. The address plan on the lab subnet (default 172.31.255.0/24):

    .1          the host's end of the uplink (only with --outside-access)
    .2          the control plane machine
    .11, .12..  node1, node2, ...

The subnet exists only inside the lab's namespaces, so labs never clash with
each other or with the machine's networks; only --outside-access puts an
address of it on the host, and `lab up` then refuses a subnet the host
already routes.

Names: machine `node1` of lab `lab` is the network namespace, the hostname and
the Kubernetes Node `lab-node1`; the control plane machine is `lab-cp`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass, field

from . import LabError

DEFAULT_NAME = "lab"
DEFAULT_SUBNET = "172.31.255.0/24"
DEFAULT_NETNS_DIR = "/run/netns"
CONTROL_PLANE = "cp"
BACKENDS = ("host-gw", "vxlan")
API_PORT = 6443
FIRST_NODE_HOST = 11
_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,6}[a-z0-9])?$")


def default_data_dir(name: str) -> str:
    return f"/var/lib/supernetes/labs/{name}"


@dataclass
class LabConfig:
    name: str = DEFAULT_NAME
    nodes: int = 3
    data_dir: str = ""                    # default: /var/lib/supernetes/labs/<name>
    netns_dir: str = DEFAULT_NETNS_DIR    # where machines' namespaces are pinned
    backend: str = "host-gw"
    subnet: str = DEFAULT_SUBNET
    outside_access: bool = False          # an uplink to the host and masquerade
    api_port: int = 0                     # on the host's 127.0.0.1; 0 = any free port
    runtime: str = "superc"
    # The node lifecycle: seconds without heartbeat before a node is Unknown, and
    # how long pods stay on an unreachable node before they are evicted.
    node_monitor_grace_period: float = 20.0
    pod_eviction_timeout: int = 25
    server_args: list[str] = field(default_factory=list)   # extra `supernetes server` flags
    agent_args: list[str] = field(default_factory=list)    # extra `superlet run` flags
    timeout: float = 120.0                # for the cluster (or a node) to come up

    def __post_init__(self) -> None:
        if not self.data_dir:
            self.data_dir = default_data_dir(self.name)

    def validate(self) -> None:
        if not _NAME.match(self.name):
            raise LabError(f"lab name {self.name!r}: 1-8 lowercase letters, digits or '-', "
                           "starting with a letter (it prefixes namespace and node names)")
        if self.backend not in BACKENDS:
            raise LabError(f"backend {self.backend!r}: one of {', '.join(BACKENDS)}")
        try:
            network = ipaddress.IPv4Network(self.subnet)
        except ValueError as exc:
            raise LabError(f"subnet {self.subnet!r}: {exc}") from None
        room = network.num_addresses - FIRST_NODE_HOST - 1
        if not 1 <= self.nodes <= min(room, 99):
            raise LabError(f"--nodes {self.nodes}: between 1 and {min(room, 99)} "
                           f"on subnet {self.subnet}")
        for cluster in ("10.244.0.0/16", "10.96.0.0/12"):
            if network.overlaps(ipaddress.ip_network(cluster)):
                raise LabError(f"subnet {self.subnet} overlaps the cluster range {cluster}")
        if not 0 <= self.api_port <= 65535:
            raise LabError(f"api port {self.api_port}: 0-65535")

    # --- names and addresses --------------------------------------------------------------

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @property
    def prefixlen(self) -> int:
        return self.network.prefixlen

    @property
    def gateway(self) -> str:
        return str(self.network.network_address + 1)

    def machines(self) -> list[str]:
        return [CONTROL_PLANE] + [f"node{i}" for i in range(1, self.nodes + 1)]

    def address(self, machine: str) -> str:
        if machine == CONTROL_PLANE:
            return str(self.network.network_address + 2)
        number = int(machine.removeprefix("node"))
        return str(self.network.network_address + FIRST_NODE_HOST - 1 + number)

    def hostname(self, machine: str) -> str:
        """The machine's host name, network namespace name and (for nodes) Node name."""
        return f"{self.name}-{machine}"

    def netns_path(self, machine: str) -> str:
        return f"{self.netns_dir}/{self.hostname(machine)}"

    @property
    def server_url(self) -> str:
        return f"https://{self.address(CONTROL_PLANE)}:{API_PORT}"

    def machine_for(self, name: str) -> str:
        """`node1`, `lab-node1` -> `node1`; a clear error for anything else."""
        short = name.removeprefix(f"{self.name}-")
        if short not in self.machines():
            raise LabError(f"no machine {name!r} in lab {self.name} "
                           f"(machines: {', '.join(self.machines())})")
        return short

    # --- lab.json -----------------------------------------------------------------------

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LabConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
