"""The node's own record of what it runs, readable without the API server or the agent.

The agent keeps everything it needs to clean up after itself on disk, and the
node CLI (`superlet ps`, `logs`, `exec`, `inspect`, `status`, `reset`) reads the
same files, so it works when the API server is unreachable or the agent is down:

    <root_dir>/node.json            written at every agent start: node name, pod
                                    CIDR, bridge, runtime, the agent's PID
    <root_dir>/pods/<uid>/pod.json  the pod's metadata and spec as last synced
    the runtime's state root        every container, with the agent's annotations
    <root_dir>/ipam/                the pod addresses
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from .config import AgentConfig
from .containers import record_of
from .network.ipam import HostLocalIPAM
from .observed import ContainerRecord
from .runtimes.base import ContainerInfo, ContainerRuntimeError

NODE_FILE = "node.json"


def write_node_file(config: AgentConfig, **facts) -> None:
    path = os.path.join(config.root_dir, NODE_FILE)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"nodeName": config.node_name, "runtime": config.runtime,
                   "server": config.server_url, "bridge": config.bridge,
                   "clusterCIDR": config.cluster_cidr, "serviceCIDR": config.service_cidr,
                   "runDir": config.run_dir, "pid": os.getpid(), **facts}, f, indent=2)
    os.replace(tmp, path)


def read_node_file(root_dir: str) -> dict:
    try:
        with open(os.path.join(root_dir, NODE_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


@dataclass
class LocalContainer:
    info: ContainerInfo
    record: ContainerRecord | None


@dataclass
class LocalPod:
    uid: str
    namespace: str
    name: str
    pod: dict | None                  # pod.json (None: only containers remain)
    ip: str | None
    containers: list[LocalContainer]


class LocalState:
    def __init__(self, config: AgentConfig):
        self.config = config
        self.node = read_node_file(config.root_dir)
        if self.node.get("runtime") and config.runtime == "superc":
            config.runtime = self.node["runtime"]  # what the agent really ran
        self._runtime = None

    @property
    def runtime(self):
        """The runtime, opened read-only (no spawner: this process does not fork threads)."""
        if self._runtime is None:
            if self.config.runtime == "superc":
                from .runtimes.superc import LocalSuperc

                self._runtime = LocalSuperc(self.config.runtime_root)
            else:
                from .runtimes.ocicli import OciCliRuntime

                self._runtime = OciCliRuntime(self.config.runtime, root=self.config.runtime_root)
        return self._runtime

    def containers(self) -> list[ContainerInfo]:
        try:
            return self.runtime.list()
        except (ContainerRuntimeError, OSError):
            return []

    def pods(self) -> list[LocalPod]:
        by_uid: dict[str, list[LocalContainer]] = {}
        for info in self.containers():
            record = record_of(info)
            uid = info.annotations.get("io.supernetes.pod.uid")
            if uid:
                by_uid.setdefault(uid, []).append(LocalContainer(info, record))
        try:
            uids = set(os.listdir(self.config.pods_dir))
        except FileNotFoundError:
            uids = set()
        uids |= set(by_uid)
        addresses = self._addresses()
        pods = []
        for uid in sorted(uids):
            pod = self._pod_json(uid)
            notes = by_uid[uid][0].info.annotations if by_uid.get(uid) else {}
            meta = (pod or {}).get("metadata") or {}
            pods.append(LocalPod(
                uid=uid, namespace=meta.get("namespace") or notes.get(
                    "io.supernetes.pod.namespace", "?"),
                name=meta.get("name") or notes.get("io.supernetes.pod.name", "?"),
                pod=pod, ip=addresses.get(uid),
                containers=sorted(by_uid.get(uid, []), key=lambda c: (
                    c.record.name if c.record else "", c.record.attempt if c.record else 0))))
        return sorted(pods, key=lambda p: (p.namespace, p.name))

    def find(self, text: str) -> LocalPod:
        """A pod by `name`, `namespace/name` or a UID prefix."""
        namespace, _, name = text.rpartition("/")
        matches = [p for p in self.pods()
                   if (p.name == name and (not namespace or p.namespace == namespace))
                   or (len(text) >= 6 and p.uid.startswith(text))]
        if not matches:
            raise LookupError(f"no pod {text!r} on this node")
        if len(matches) > 1:
            names = ", ".join(f"{p.namespace}/{p.name}" for p in matches)
            raise LookupError(f"{text!r} is ambiguous: {names} (use namespace/name)")
        return matches[0]

    def _pod_json(self, uid: str) -> dict | None:
        try:
            with open(os.path.join(self.config.pods_dir, uid, "pod.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _addresses(self) -> dict[str, str]:
        cidr = self.node.get("podCIDR")
        if not cidr or not os.path.isdir(self.config.ipam_dir):
            return {}
        try:
            return {owner: str(ip) for owner, ip in
                    HostLocalIPAM(self.config.ipam_dir, cidr).allocations().items()}
        except OSError:
            return {}
