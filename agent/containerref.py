"""What the agent's HTTPS API needs to know about one container: `ContainerRef`.

The seam between the agent core and its server (`server.py`): the server asks
`NodeAgent.resolve(namespace, pod, container, previous)` and gets one of these,
enough to stream the log file, exec into the runtime's container, or read its
cgroup statistics, without knowing anything else about pods.
"""

from __future__ import annotations

from dataclasses import dataclass


class NotFound(LookupError):
    """No such pod on this node, no such container in it, or no previous instance."""


@dataclass(frozen=True)
class ContainerRef:
    pod_uid: str
    pod_namespace: str
    pod_name: str
    container: str
    attempt: int          # the restart count of this instance
    runtime_id: str       # the ID the runtime knows it by
    log_path: str         # CRI-format log (agent/logs.py reads it)
    running: bool
    pod_netns: str | None  # the pod's network namespace (None: the node's)
